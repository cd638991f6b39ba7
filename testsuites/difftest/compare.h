// Comparison of a native (host) outcome with Kestrel's, leaving out only what the
// case's Meta marks undefined.
#pragma once

#include <string>

#include "gen.h"
#include "layout.h"

namespace difftest {

// Empty when equal; otherwise "field host=... kestrel=..." items separated by "; ".
std::string compare_outcomes(const CaseOut& host, const CaseOut& kes, const Meta& meta, bool mode64);

// One-line summaries for reports.
std::string describe_input(const CaseIn& in, bool mode64);
std::string describe_outcome(const CaseOut& o, bool mode64, bool with_fp);

}  // namespace difftest
