#include "edgecap/bench_quality.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "edgecap/error.h"

namespace edgecap {
namespace {

bool is_alnum_lower(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}
bool is_vowel(char c) { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u'; }

using NGramCounts = std::map<std::vector<std::string>, int>;
NGramCounts ngrams(const Words& words, int n) {
  NGramCounts counts;
  for (int i = 0; i + n <= static_cast<int>(words.size()); ++i) {
    ++counts[Words(words.begin() + i, words.begin() + i + n)];
  }
  return counts;
}

Words split_spaces(const std::string& text) { return tokenize_caption(text); }

// Colour words a category can double as ("orange"); the same list as tools/evaluate.py COLOUR_TERMS.
const std::set<std::string>& colour_terms() {
  static const std::set<std::string> kColours = {"black", "white", "gray",   "red",  "orange", "yellow",
                                                 "green", "blue",  "purple", "pink", "brown"};
  return kColours;
}

}  // namespace

Words tokenize_caption(std::string_view caption) {
  std::string lower(caption);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  Words words;
  std::size_t i = 0;
  while (i < lower.size()) {
    if (!is_alnum_lower(lower[i])) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < lower.size() && is_alnum_lower(lower[j])) ++j;
    // (?:'[a-z]+)? : an apostrophe suffix such as "dog's"
    if (j + 1 < lower.size() && lower[j] == '\'' && is_lower(lower[j + 1])) {
      ++j;
      while (j < lower.size() && is_lower(lower[j])) ++j;
    }
    words.push_back(lower.substr(i, j - i));
    i = j;
  }
  return words;
}

double corpus_bleu(const std::vector<Words>& hypotheses, const std::vector<std::vector<Words>>& references,
                   int max_n) {
  if (hypotheses.size() != references.size()) {
    throw std::invalid_argument("corpus_bleu: one reference set per hypothesis is needed");
  }
  std::vector<long> match(max_n + 1, 0), total(max_n + 1, 0);
  long hyp_len = 0, ref_len = 0;
  for (std::size_t i = 0; i < hypotheses.size(); ++i) {
    const Words& hyp = hypotheses[i];
    const auto& refs = references[i];
    if (refs.empty()) throw std::invalid_argument("corpus_bleu: a hypothesis has no reference");
    hyp_len += static_cast<long>(hyp.size());
    // closest reference length; ties go to the shorter reference (Python's min over (distance, length))
    long best_len = -1, best_dist = 0;
    for (const Words& r : refs) {
      long len = static_cast<long>(r.size());
      long dist = std::labs(len - static_cast<long>(hyp.size()));
      if (best_len < 0 || dist < best_dist || (dist == best_dist && len < best_len)) {
        best_len = len;
        best_dist = dist;
      }
    }
    ref_len += best_len;
    for (int n = 1; n <= max_n; ++n) {
      NGramCounts max_ref;
      for (const Words& r : refs) {
        for (const auto& [gram, count] : ngrams(r, n)) max_ref[gram] = std::max(max_ref[gram], count);
      }
      for (const auto& [gram, count] : ngrams(hyp, n)) {
        auto it = max_ref.find(gram);
        if (it != max_ref.end()) match[n] += std::min(count, it->second);
      }
      total[n] += std::max(static_cast<long>(hyp.size()) - n + 1, 0L);
    }
  }
  for (int n = 1; n <= max_n; ++n) {
    if (match[n] == 0) return 0.0;
  }
  double bp = hyp_len > ref_len ? 1.0 : (hyp_len ? std::exp(1.0 - double(ref_len) / double(hyp_len)) : 0.0);
  double log_p = 0;
  for (int n = 1; n <= max_n; ++n) log_p += std::log(double(match[n]) / double(total[n]));
  return bp * std::exp(log_p / max_n);
}

std::string pluralize(std::string_view noun_in) {
  std::string noun(noun_in);
  std::transform(noun.begin(), noun.end(), noun.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  while (!noun.empty() && noun.back() == ' ') noun.pop_back();
  while (!noun.empty() && noun.front() == ' ') noun.erase(noun.begin());
  auto space = noun.rfind(' ');
  if (space != std::string::npos) return noun.substr(0, space + 1) + pluralize(noun.substr(space + 1));
  static const std::map<std::string, std::string> kIrregular = {
      {"person", "people"},     {"man", "men"},      {"woman", "women"},       {"child", "children"},
      {"mouse", "mice"},        {"knife", "knives"}, {"leaf", "leaves"},       {"wife", "wives"},
      {"shelf", "shelves"},     {"sheep", "sheep"},  {"deer", "deer"},         {"fish", "fish"},
      {"broccoli", "broccoli"}, {"skis", "skis"},    {"scissors", "scissors"}, {"tv", "tvs"},
      {"foot", "feet"},         {"tooth", "teeth"},  {"goose", "geese"}};
  if (auto it = kIrregular.find(noun); it != kIrregular.end()) return it->second;
  if (ends_with(noun, "s") || ends_with(noun, "x") || ends_with(noun, "z") || ends_with(noun, "ch") ||
      ends_with(noun, "sh")) {
    return noun + "es";
  }
  if (noun.size() >= 2 && noun.back() == 'y' && !is_vowel(noun[noun.size() - 2])) {
    return noun.substr(0, noun.size() - 1) + "ies";
  }
  if (noun == "potato" || noun == "tomato" || noun == "hero") return noun + "es";
  return noun + "s";
}

std::vector<std::string> mentioned_categories(const Words& caption,
                                              const std::vector<std::string>& categories) {
  struct Form {
    Words words;
    std::string category;
  };
  std::vector<Form> forms;
  for (const std::string& c : categories) {
    Words singular = split_spaces(c);
    Words plural = split_spaces(pluralize(c));
    if (singular.empty()) continue;
    forms.push_back({singular, c});
    if (plural != singular) forms.push_back({plural, c});
  }
  std::stable_sort(forms.begin(), forms.end(),
                   [](const Form& a, const Form& b) { return a.words.size() > b.words.size(); });
  struct Found {
    std::size_t start, end;
    std::string category;
  };
  std::vector<Found> found;
  std::size_t i = 0;
  while (i < caption.size()) {
    bool matched = false;
    for (const Form& f : forms) {
      if (i + f.words.size() <= caption.size() &&
          std::equal(f.words.begin(), f.words.end(), caption.begin() + static_cast<long>(i))) {
        found.push_back({i, i + f.words.size(), f.category});
        i += f.words.size();
        matched = true;
        break;
      }
    }
    if (!matched) ++i;
  }
  std::vector<std::string> out;
  for (std::size_t k = 0; k < found.size(); ++k) {
    bool adjective =
        colour_terms().count(found[k].category) && k + 1 < found.size() && found[k + 1].start == found[k].end;
    if (!adjective) out.push_back(found[k].category);
  }
  return out;
}

std::map<std::string, GroundTruth> read_ground_truth(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw BenchError(fmt::format("cannot read {}: check the file exists and is readable", path));
  std::map<std::string, GroundTruth> out;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    try {
      auto j = nlohmann::json::parse(line);
      GroundTruth truth;
      truth.image = j.at("image").get<std::string>();
      for (const auto& c : j.value("captions", nlohmann::json::array()))
        truth.captions.push_back(c.get<std::string>());
      for (const auto& o : j.value("objects", nlohmann::json::array())) {
        truth.objects.push_back(o.at("category").get<std::string>());
      }
      auto slash = truth.image.find_last_of('/');
      std::string key = slash == std::string::npos ? truth.image : truth.image.substr(slash + 1);
      out[key] = std::move(truth);
    } catch (const nlohmann::json::exception& e) {
      throw BenchError(
          fmt::format("{} line {}: not a ground-truth record ({}); each line needs \"image\", "
                      "\"captions\" and \"objects\":[{{\"category\":...}}]",
                      path, number, e.what()));
    }
  }
  return out;
}

RecallCount object_recall(const Words& caption, const GroundTruth& truth,
                          const std::vector<std::string>& categories) {
  auto named = mentioned_categories(caption, categories);
  std::set<std::string> named_set(named.begin(), named.end());
  RecallCount count;
  for (const std::string& category : truth.objects) {
    ++count.objects;
    count.recalled += named_set.count(category) ? 1 : 0;
  }
  return count;
}

}  // namespace edgecap
