#include <catch2/catch.hpp>
#include <string>

#include "support/process.hpp"

using citynet::testing::run_citynet;
using citynet::testing::shell_quote;
using citynet::testing::source_path;
using citynet::testing::TempDir;

TEST_CASE("Every question scenario prints its answer and writes its first run", "[integration]") {
  for (const char* q : {"isolation", "channels", "sister_ties", "south_north"}) {
    TempDir dir;
    const std::string out = dir / "q.h5";
    const auto r =
        run_citynet("run " + shell_quote(source_path("scenarios/questions/") + q + ".yaml") +
                    " --set question.replications=1 --set time.steps=36 -o " + shell_quote(out));
    INFO(q << "\n" << r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("Question: ") != std::string::npos);
    CHECK(r.out.find("Answer: ") != std::string::npos);
    CHECK(run_citynet("info " + shell_quote(out)).exit_code == 0);
  }
}

TEST_CASE("A question naming an unknown city says so with did-you-mean", "[integration]") {
  const auto r =
      run_citynet("run " + shell_quote(source_path("scenarios/questions/isolation.yaml")) +
                  " --set question.city=Lyonn --set question.replications=1");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("question.city") != std::string::npos);
  CHECK(r.err.find("did you mean Lyon?") != std::string::npos);
}
