// Checkpoints: LibTorch archives with "model", "optimizer" and "step", written to a temporary name
// and renamed. The save functions return the file's checksum ("crc32:…"), which run.json records
// and load_checkpoint verifies: a flipped byte is an error naming the file. Everything a checkpoint
// holds is checked against the model it is loaded into (names, shapes, element types, finite
// values, the optimizer's state and settings) before training or inference uses it; the fuzz
// target `checkpoint` (tests/fuzz) feeds it hostile archives. Needs LibTorch and nothing else of
// the engine, so the fuzz build compiles it alone.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace soul::train {

std::string save_checkpoint(const std::string& path, torch::nn::Module& model, torch::optim::Optimizer* optimizer, int64_t step);
// An exported checkpoint: the weights alone (no optimizer), half precision when asked, without
// the tensors whose names start with `omitted` (parts only training uses). load_checkpoint reads it.
std::string save_weights(const std::string& path, torch::nn::Module& model, bool half, const std::string& omitted = {});
// Returns the step saved; throws soul::Error naming the file when it cannot be read or does not fit
// the model. `checksum` empty: not verified (runs written before checksums). On an error the
// module's and the optimizer's state are undefined: the caller discards them.
int64_t load_checkpoint(const std::string& path, torch::nn::Module& model, torch::optim::Optimizer* optimizer, const std::string& checksum = {});

}  // namespace soul::train
