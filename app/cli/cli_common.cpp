// Shared parts of the command line (cli_common.h).
#include "cli_common.h"

#include "soul/data_paths.h"
#include "soul/default_subject.h"
#include "soul/error.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <unistd.h>

namespace cli {

namespace {

// Ctrl-C during long work: stop at the next step (training writes a checkpoint first).
soul::CancelToken g_interrupt;
void on_interrupt(int) { g_interrupt.cancel(); }

const char* fresh_line(bool after_progress) { return after_progress && isatty(fileno(stderr)) ? "\n" : ""; }

// The message of any exception: soul::Error's as it is; anything else is a fault of ours, said so.
std::string describe(const std::exception& e, bool ours) {
    return ours ? e.what() : std::string("internal error (please report it): ") + e.what();
}

}  // namespace

soul::Progress terminal_progress() {
    const bool tty = isatty(fileno(stderr));
    auto started = std::make_shared<std::chrono::steady_clock::time_point>(std::chrono::steady_clock::now());
    soul::Progress p;
    p.report = [tty, started](int64_t step, int64_t steps, const std::string& message) {
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - *started).count();
        const double fraction = steps > 0 ? static_cast<double>(step) / steps : 1.0;
        if (tty) {
            constexpr int kWidth = 30;
            const int filled = static_cast<int>(fraction * kWidth);
            std::fprintf(stderr, "\r[%s%s] %3d%% %6.1fs  %-60.60s", std::string(filled, '#').c_str(),
                         std::string(kWidth - filled, ' ').c_str(), static_cast<int>(fraction * 100), elapsed, message.c_str());
            if (step >= steps) std::fprintf(stderr, "\n");
        } else {
            std::fprintf(stderr, "[%lld/%lld %6.1fs] %s\n", static_cast<long long>(step), static_cast<long long>(steps), elapsed,
                         message.c_str());
        }
        std::fflush(stderr);
    };
    return p;
}

int reporting_errors(const char* command, bool after_progress, const std::function<void()>& work) {
    try {
        work();
        return 0;
    } catch (const soul::Error& e) {
        std::fprintf(stderr, "%ssouldiffuser %s: %s\n", fresh_line(after_progress), command, describe(e, true).c_str());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%ssouldiffuser %s: %s\n", fresh_line(after_progress), command, describe(e, false).c_str());
    } catch (...) {
        std::fprintf(stderr, "%ssouldiffuser %s: internal error (please report it): an unknown exception\n", fresh_line(after_progress), command);
    }
    return 1;
}

int reporting_interrupts(const char* command, const char* after_interrupt, const std::function<void(const soul::Progress&)>& work) {
    std::signal(SIGINT, on_interrupt);
    soul::Progress progress = terminal_progress();
    progress.cancel = &g_interrupt;
    try {
        work(progress);
        return 0;
    } catch (const soul::Cancelled&) {
        std::fprintf(stderr, "\nsouldiffuser %s: interrupted; %s\n", command, after_interrupt);
        return 130;
    } catch (...) {
        return reporting_errors(command, true, [] { throw; });
    }
}

std::vector<std::string> split_list(const std::string& text) {
    std::vector<std::string> out;
    std::string item;
    for (char c : text + ",") {
        if (c == ',') {
            if (!item.empty()) out.push_back(item);
            item.clear();
        } else if (c != ' ') {
            item += c;
        }
    }
    return out;
}

std::string model_or_shipped(const std::string& flag) {
    const soul::DataLookup model = soul::shipped_model(flag);
    if (!model.found())
        throw soul::Error("no model given and the shipped model (models/phantom-small) was not found: " + model.places() +
                          "; give --model RUN");
    return model.path;
}

std::string data_or_default(const std::string& run, const std::string& flag) {
    if (!flag.empty()) return flag;
    std::ifstream in(run + "/run.json");
    const nlohmann::json info = nlohmann::json::parse(in, nullptr, false);
    // A missing or broken run.json is for the engine to name; only a run that names no dataset
    // falls back to the default subject.
    try {
        if (info.is_discarded() || !info.is_object() || !info.value(nlohmann::json::json_pointer("/dataset/path"), std::string()).empty())
            return "";
    } catch (const nlohmann::json::exception&) {
        return "";
    }
    const soul::DefaultSubject subject = soul::default_subject();
    if (soul::prepared_complete(subject.prepared)) return subject.prepared;
    throw soul::Error(run, "names no dataset (a shipped model) and the default subject (" + subject.prepared +
                               ") is not made yet: run `souldiffuser default-subject` once, or give --data");
}

void add_sampler_options(CLI::App* command, soul::SamplerSettings& s, SamplerOptions which) {
    namespace bounds = soul::sampler_bounds;
    const soul::SamplerSettings defaults;
    auto text = [](auto value) {
        std::ostringstream out;
        out << value;
        return out.str();
    };
    command->add_option("--steps", s.steps, "DDIM steps, 1–" + text(bounds::kMaxSteps) + " (default " + text(defaults.steps) + ")");
    command->add_option("--cfg", s.cfg, "Classifier-free guidance scale, 0–" + text(bounds::kMaxGuidance) + " (default " + text(defaults.cfg) + ")");
    command->add_option("--eta", s.eta, "DDIM η, 0 (deterministic, default) to 1 (DDPM-like)");
    command->add_option("--strength", s.strength,
                        "img2img: the fraction of the schedule run from the start image, 0–1 (default " + text(defaults.strength) + ")");
    command->add_option("--w-color", s.w_color, "Colour adapter weight ω1, 0–" + text(bounds::kMaxAdapterWeight) + " (default 1)");
    command->add_option("--w-edge", s.w_edge, "Edge adapter weight ω2, 0–" + text(bounds::kMaxAdapterWeight) + " (default 1)");
    command->add_option("--seed", s.seed, "Random seed, 0–" + text(bounds::kMaxSeed) + " (default 1; same seed, same bytes)");
    if (which != kSamplesAndConditions) return;
    command->add_option("--samples", s.samples, "Images per trial or prompt, 1–" + text(bounds::kMaxSamples) + " (default 1)");
    // Flags that switch a condition off (a condition the input does not give is off anyway).
    auto without = [&](const char* flag, bool& use, const char* what) {
        command->add_flag_callback(flag, [&use] { use = false; }, std::string("Leave out ") + what);
    };
    without("--no-caption", s.use_caption, "the caption (guidance runs unconditional)");
    without("--no-palette", s.use_palette, "the colour palette");
    without("--no-edges", s.use_edges, "the edge map");
    without("--no-init", s.use_init, "the img2img start image (the whole schedule runs from noise)");
}

void add_device_option(CLI::App* command, std::string& device) {
    command->add_option("--device", device, "auto (default), cpu or cuda");
}

CLI::Option* add_stable_diffusion_options(CLI::App* command, soul::StableDiffusionOptions& o) {
    auto* sd = command->add_option("--sd", o.path,
                                   "Stable Diffusion 1.x/2.x as the generator: a diffusers folder or a single .safetensors/.ckpt file (docs/pretrained.md)");
    command->add_option("--text-encoder", o.text_encoder, "With --sd: a CLIP folder (vocab.json, merges.txt; a single file's tokenizer)")->needs(sd);
    command->add_option("--prediction", o.prediction, "With --sd: what the UNet predicts, epsilon or v (a 2.x single file does not say)")
        ->check(CLI::IsMember({"epsilon", "v"}))
        ->needs(sd);
    command->add_option("--size", o.size, "With --sd: the images' side in pixels, a multiple of 8")->needs(sd)->capture_default_str();
    return sd;
}

void add_plugins_option(CLI::App* command, std::string& plugins) {
    command->add_option("--plugins", plugins,
                        "Folders of decoder plugins, ':'-separated, looked in before $SOUL_PLUGIN_PATH and the data dirs' plugins/ (docs/decoder-plugins.md)");
}

}  // namespace cli
