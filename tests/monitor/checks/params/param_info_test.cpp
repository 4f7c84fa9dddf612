#include "monitor/checks/params/param_info.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "common/check_parser.hpp"
#include "monitor/checks/params/check_params.hpp"

namespace netmon {
namespace {

// A value for each required parameter of every type.
const std::map<std::string, ParamMap, std::less<>>& required_values() {
  static const std::map<std::string, ParamMap, std::less<>> values = {
      {"http", {{"url", "http://127.0.0.1/"}}},
      {"https", {{"url", "https://127.0.0.1/"}}},
      {"icmp", {{"host", "127.0.0.1"}}},
      {"traceroute", {{"host", "127.0.0.1"}}},
      {"dns", {{"server", "127.0.0.1"}, {"name", "example.test"}}},
      {"ntp", {{"server", "127.0.0.1"}}},
      {"tcp", {{"host", "127.0.0.1"}, {"port", "80"}}},
      {"udp", {{"host", "127.0.0.1"}, {"port", "53"}}},
      {"tcp_echo", {{"host", "127.0.0.1"}, {"port", "7"}}},
      {"udp_echo", {{"host", "127.0.0.1"}, {"port", "7"}}},
  };
  return values;
}

const ParamMap& required_of(std::string_view type) {
  return required_values().find(type)->second;
}

CheckSpec spec_of(const checks::CheckParamsType& type, ParamMap params) {
  CheckSpec spec;
  spec.id = "c";
  spec.type = std::string(type.name);
  spec.params = std::move(params);
  return spec;
}

std::string error_of(const CheckSpec& spec) {
  auto valid = checks::validate_check(spec);
  return valid ? std::string() : valid.error().message;
}

// The names in the "(allowed: a, b, c)" that ends an unknown-parameter error.
std::set<std::string> allowed_names(const std::string& error) {
  const std::string marker = "(allowed: ";
  const std::size_t at = error.rfind(marker);
  std::set<std::string> names;
  if (at == std::string::npos || error.back() != ')') return names;
  std::string list = error.substr(at + marker.size());
  list.pop_back();
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t comma = list.find(", ", start);
    if (comma == std::string::npos) comma = list.size();
    names.insert(list.substr(start, comma - start));
    start = comma + 2;
  }
  return names;
}

TEST(ParamInfo, EveryTypeHasRequiredValuesInThisTest) {
  for (const checks::CheckParamsType& type : checks::check_params_types()) {
    EXPECT_TRUE(required_values().contains(type.name)) << type.name;
    EXPECT_FALSE(type.summary.empty()) << type.name;
  }
}

// The parser's own list of the names it reads is the one in its
// unknown-parameter error: the info must list exactly those.
TEST(ParamInfo, ListsExactlyTheNamesTheParserAccepts) {
  for (const checks::CheckParamsType& type : checks::check_params_types()) {
    ParamMap params = required_of(type.name);
    params.emplace("zz_not_a_parameter", "1");
    const std::string error = error_of(spec_of(type, params));
    ASSERT_NE(error.find("unknown parameter 'zz_not_a_parameter'"), std::string::npos)
        << type.name << ": " << error;
    std::set<std::string> listed;
    for (const checks::ParamInfo& param : type.params) {
      EXPECT_TRUE(listed.insert(std::string(param.name)).second)
          << type.name << " lists " << param.name << " twice";
      EXPECT_FALSE(param.summary.empty()) << type.name << "." << param.name;
    }
    EXPECT_EQ(listed, allowed_names(error)) << type.name;
  }
}

TEST(ParamInfo, RequiredMeansTheCheckIsRefusedWithoutIt) {
  for (const checks::CheckParamsType& type : checks::check_params_types()) {
    const ParamMap& required = required_of(type.name);
    EXPECT_EQ(error_of(spec_of(type, required)), "") << type.name;
    std::size_t required_count = 0;
    for (const checks::ParamInfo& param : type.params) {
      if (!param.required) {
        EXPECT_FALSE(required.contains(param.name)) << type.name << "." << param.name;
        continue;
      }
      ++required_count;
      ParamMap without = required;
      ASSERT_EQ(without.erase(std::string(param.name)), 1u) << type.name << "." << param.name;
      const std::string error = error_of(spec_of(type, without));
      EXPECT_NE(error.find(std::string(param.name) + " is required"), std::string::npos)
          << type.name << "." << param.name << ": " << error;
    }
    EXPECT_EQ(required_count, required.size()) << type.name;
  }
}

TEST(ParamInfo, EveryDefaultValueIsAcceptedAsAValue) {
  for (const checks::CheckParamsType& type : checks::check_params_types()) {
    for (const checks::ParamInfo& param : type.params) {
      if (param.default_value.empty()) continue;
      EXPECT_FALSE(param.required) << type.name << "." << param.name;
      ParamMap params = required_of(type.name);
      params.emplace(std::string(param.name), std::string(param.default_value));
      EXPECT_EQ(error_of(spec_of(type, params)), "") << type.name << "." << param.name;
    }
  }
}

TEST(ParamInfo, TheCommonFieldsAreReadAsFieldsNotAsParameters) {
  std::set<std::string> names;
  std::string words = "tcp host=127.0.0.1 port=80";
  const std::map<std::string, std::string> values = {
      {"id", "web"}, {"interval", "5s"}, {"timeout", "1s"}, {"retries", "4"}};
  for (const checks::ParamInfo& param : checks::common_check_params()) {
    names.insert(std::string(param.name));
    EXPECT_FALSE(param.summary.empty()) << param.name;
    words += " " + std::string(param.name) + "=" + values.at(std::string(param.name));
  }
  EXPECT_EQ(names, (std::set<std::string>{"id", "interval", "timeout", "retries"}));
  auto spec = check_from_args(words, CheckDefaults{}, "tcp-1");
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_EQ(spec->params.size(), 2u) << "a common field landed among the parameters";
  EXPECT_EQ(spec->id, "web");
  EXPECT_EQ(spec->retries, 4);
  for (const checks::CheckParamsType& type : checks::check_params_types()) {
    for (const checks::ParamInfo& param : type.params)
      EXPECT_FALSE(names.contains(std::string(param.name))) << type.name << "." << param.name;
  }
}

TEST(ParamInfo, FindsATypeByName) {
  ASSERT_NE(checks::find_check_params_type("dns"), nullptr);
  EXPECT_EQ(checks::find_check_params_type("dns")->name, "dns");
  EXPECT_EQ(checks::find_check_params_type("gopher"), nullptr);
}

}  // namespace
}  // namespace netmon
