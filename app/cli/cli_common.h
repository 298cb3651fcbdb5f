// What every subcommand of `souldiffuser` shares: the terminal's progress bar, one way of turning
// errors into one line on stderr, the defaults for --model and --data, and the option groups that
// several commands register the same way (the sampler's settings, --device).
#pragma once

#include "soul/generate.h"
#include "soul/progress.h"
#include "soul/sampler.h"

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace cli {

// A registered subcommand and what runs it once the command line is parsed: the exit status.
struct Command {
    CLI::App* app = nullptr;
    std::function<int()> run;
};

// Progress on stderr: a redrawn bar on a terminal, plain lines otherwise (logs, CI).
soul::Progress terminal_progress();

// Runs one subcommand's work: 0 when it succeeds; any exception becomes one line on stderr,
// "souldiffuser COMMAND: message", and exit 1. After a progress bar on a terminal, the message
// starts on a fresh line.
int reporting_errors(const char* command, bool after_progress, const std::function<void()>& work);
// The same for long work that Ctrl-C stops cleanly: exit 130, saying what was kept.
int reporting_interrupts(const char* command, const char* after_interrupt, const std::function<void(const soul::Progress&)>& work);

// "a, b,c" → {"a", "b", "c"}.
std::vector<std::string> split_list(const std::string& text);

// --model's default: the shipped model (data_paths.h); a miss says where it looked.
std::string model_or_shipped(const std::string& flag);
// --data's default: the dataset the run was trained on; a shipped model names none, and takes the
// default subject once it is made.
std::string data_or_default(const std::string& run, const std::string& flag);

// Which of the sampler's options a command takes: every command that draws images takes the
// schedule, guidance, adapter weights and seed; commands that draw what the user asks for also
// take the sample count and the condition switches.
enum SamplerOptions { kSchedule = 0, kSamplesAndConditions = 1 };
void add_sampler_options(CLI::App* command, soul::SamplerSettings& settings, SamplerOptions which);
void add_device_option(CLI::App* command, std::string& device);
// --sd PATH (the user's Stable Diffusion as the generator) and the options that need it:
// --text-encoder, --prediction, --size. Returns --sd.
CLI::Option* add_stable_diffusion_options(CLI::App* command, soul::StableDiffusionOptions& options);
// --plugins DIR[:DIR...]: folders of decoder plugins looked in first (soul::decoder_plugin_dirs).
void add_plugins_option(CLI::App* command, std::string& plugins);

}  // namespace cli
