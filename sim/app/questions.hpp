#pragma once

#include <string>

#include "scenario/scenario.hpp"

namespace citynet::app {

struct QuestionOptions {
  std::string output;  // where the first run of the scenario as written goes ("" = nowhere)
  int threads = 0;
  bool quiet = false;
};

// Runs the comparison a question scenario names (question.kind) with question.replications runs
// per variant, and prints the answer in plain words and numbers on stdout.
void answer_question(const scenario::Scenario& sc, const QuestionOptions& qo);

}  // namespace citynet::app
