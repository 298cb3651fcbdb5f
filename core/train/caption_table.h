// Caption embeddings from a pretrained text encoder: what fMRI-SemBERT is trained to predict in
// the SoulDiffuser paper (BERT's caption embeddings; CLIP's text embedding is the other choice),
// set by the config's `caption_encoder` or `train --caption-encoder FOLDER`.
//
// Every caption of the dataset is encoded once, when training starts, and the table is kept in the
// run folder (caption-embeddings.pt), so that evaluation and reconstruction need neither the
// encoder's files nor its compute. The vectors are centred on the mean of the training captions
// and set to unit norm: the sentence vectors of BERT share one large common direction (Ethayarajh
// 2019, "How Contextual are Contextualized Word Representations?"; Mu & Viswanath 2018,
// "All-but-the-Top"), which would otherwise put every cosine near 1 and leave retrieval to noise.
#pragma once

#include "encoder_run.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <string>

namespace soul::train {

constexpr const char* kCaptionTableFile = "caption-embeddings.pt";
// CLIP's initial temperature τ = 0.07 (Radford et al. 2021; Wu et al. 2018), as log(1 / τ): the
// contrastive losses against a pretrained caption space, which has no learned temperature.
constexpr double kPretrainedCaptionLogitScale = 2.6592600369327779;

// (images, kMaxCaptions, D) float on data.device, rows past an image's caption count zero; `info`
// gets what run.json records (folder, kind, embedding, width, captions). Errors name the folder.
torch::Tensor compute_caption_table(const TrainData& data, const std::string& folder, nlohmann::json* info, const Progress& progress = {});

// Written atomically into the run folder; returns its checksum, which run.json records with `info`.
std::string save_caption_table(const std::string& run, const torch::Tensor& table);
// The run's table (`recorded`: run.json's caption_encoder entry), checked against its checksum and
// the dataset it is used with; soul::Error naming the file when it is missing, damaged or of
// another dataset's shape.
torch::Tensor load_caption_table(const std::string& run, const TrainData& data, const nlohmann::json& recorded);

// The width of the caption embeddings SemBERT and the baseline predict: the table's, else the
// built-in space's embed_dim.
int64_t caption_dim(const model::EncoderConfig& config, const TrainData& data);

}  // namespace soul::train
