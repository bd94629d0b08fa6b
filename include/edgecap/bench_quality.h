#pragma once
// Caption quality measures used by `edgecap bench`, matching tools/evaluate.py: corpus BLEU (Papineni et
// al. 2002, closest reference length for the brevity penalty) and object recall (a ground-truth object
// counts as recalled when the caption names its category, singular or plural).
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace edgecap {

using Words = std::vector<std::string>;

// Lower-cased words as tools/common.py tokenize() finds them: [a-z0-9]+ with an optional 's-like suffix.
Words tokenize_caption(std::string_view caption);

// Corpus BLEU-n with uniform weights; 0 when any n-gram order has no match. references[i] are the
// reference captions of hypotheses[i] (at least one each).
double corpus_bleu(const std::vector<Words>& hypotheses, const std::vector<std::vector<Words>>& references,
                   int max_n = 4);

// English plural of a (possibly multi-word) category noun, as tools/datagen/grammar.py pluralize().
std::string pluralize(std::string_view noun);

// The categories a caption names, found longest form first ("hot dog" before "dog"), singular or plural.
// A colour-named category used as an adjective ("an orange car") does not count as a mention of it.
std::vector<std::string> mentioned_categories(const Words& caption,
                                              const std::vector<std::string>& categories);

// One line of ground_truth.jsonl.
struct GroundTruth {
  std::string image;  // as written in the file
  std::vector<std::string> captions;
  std::vector<std::string> objects;  // category of each ground-truth object (repeats allowed)
};

// Reads ground_truth.jsonl; keys are the image file names (no folders), so "images/a.png" matches a frame
// labelled "a.png". Throws BenchError naming the line that is not valid.
std::map<std::string, GroundTruth> read_ground_truth(const std::string& path);

struct RecallCount {
  int objects = 0;
  int recalled = 0;
};
// Counts the objects of `truth` whose category `caption` names; `categories` are all categories of the set.
RecallCount object_recall(const Words& caption, const GroundTruth& truth,
                          const std::vector<std::string>& categories);

}  // namespace edgecap
