// Writes the fuzz targets' seed corpora (tests/fuzz/corpus/<target>/seed-*): small valid files of
// every form each reader takes, made with the project's own writers and test fixtures, so that
// fuzzing starts deep inside each format. Run by `tools/fuzz.sh seeds`.
// Usage: fuzz_seeds CORPUS_DIR
#include "GenericFixture.h"
#include "NiftiFixture.h"
#include "NsdFixture.h"
#include "fuzz_targets.h"
#include "soul/formats.h"
#include "soul/prepare.h"
#include "soul/volume.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace fs = std::filesystem;

namespace {

fs::path g_corpus;

std::string read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void seed(const std::string& target, const std::string& name, const std::string& bytes) {
    const fs::path folder = g_corpus / target;
    fs::create_directories(folder);
    std::ofstream(folder / ("seed-" + name), std::ios::binary) << bytes;
}

std::string joined(const std::string& a, const std::string& b) { return a + soul::fuzz::kPartSeparator + b; }

void nifti_seeds(const std::string& dir) {
    soultest::NiftiSpec spec;
    auto nifti = [&](const std::string& name, const soultest::NiftiSpec& s) {
        const std::string path = dir + "/" + name;
        soultest::writeNifti(path, s, soultest::ramp(s));
        seed("nifti", name, read_bytes(path));
        return path;
    };
    nifti("float32.nii", spec);
    soultest::NiftiSpec scaled = spec;
    scaled.datatype = 4;
    scaled.scl_slope = 0.5f;
    scaled.scl_inter = 2;
    scaled.qform_code = 1;
    scaled.quatern_b = 0.3f;
    scaled.qoffset_x = -10;
    nifti("int16-scaled-qform.nii.gz", scaled);
    soultest::NiftiSpec series = spec;
    series.dims = {3, 2, 2, 3};
    series.datatype = 2;
    series.sform_code = 2;
    series.srow = {{{2, 0.1f, 0, -3}, {0, 2, 0, -4}, {0, 0, 2.5f, 5}}};
    nifti("uint8-4d-sform.nii", series);
    soultest::NiftiSpec two = spec;
    two.sizeof_hdr = 540;
    two.sform_code = 1;
    nifti("nifti2.nii", two);
    // The two-file form: the header (magic "ni1", vox_offset 0) and the voxels.
    const std::string single = read_bytes(dir + "/float32.nii");
    std::string header = single.substr(0, 348);
    header.replace(344, 4, std::string("ni1\0", 4));
    const float zero = 0;
    header.replace(108, 4, std::string(reinterpret_cast<const char*>(&zero), 4));
    seed("nifti", "pair", joined(header, single.substr(352)));
}

void mat_seeds(const std::string& dir) {
    soul::MatMatrix order{"masterordering", 1, 12, {}}, subject{"subjectim", 2, 4, {}}, sessions{"basiccnt", 3, 2, {}};
    for (int i = 0; i < 12; ++i) order.values.push_back(1 + i % 5);
    for (int i = 0; i < 8; ++i) subject.values.push_back(100 + i * 7);
    for (int i = 0; i < 6; ++i) sessions.values.push_back(i % 3 == 0 ? 0.5 : i);
    soul::write_mat(dir + "/design.mat", {order, subject});
    seed("mat", "expdesign.mat", read_bytes(dir + "/design.mat"));
    soul::write_mat(dir + "/one.mat", {sessions});
    seed("mat", "one-variable.mat", read_bytes(dir + "/one.mat"));
    soul::write_mat(dir + "/empty.mat", {soul::MatMatrix{"masterordering", 0, 0, {}}});
    seed("mat", "empty-matrix.mat", read_bytes(dir + "/empty.mat"));
}

void hdf5_seeds(const std::string& dir) {
    {
        soul::ImageBrickWriter brick(dir + "/brick.hdf5", "imgBrick", 3, 4, 5);
        std::vector<uint8_t> pixels(3 * 4 * 5 * 3);
        for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i * 7);
        brick.write(0, 3, pixels.data());
    }
    seed("hdf5", "image-brick.hdf5", read_bytes(dir + "/brick.hdf5"));
    {
        soul::ImageBrickWriter empty(dir + "/empty-brick.hdf5", "imgBrick", 0, 2, 2);
    }
    seed("hdf5", "empty-brick.hdf5", read_bytes(dir + "/empty-brick.hdf5"));
    std::vector<int16_t> betas(750 * 8);
    for (size_t i = 0; i < betas.size(); ++i) betas[i] = static_cast<int16_t>(static_cast<int>(i % 600) - 300);
    soultest::write_hdf5_betas(dir + "/betas.hdf5", betas, {2, 2, 2});
    seed("hdf5", "betas.hdf5", read_bytes(dir + "/betas.hdf5"));
}

void table_seeds(const std::string& dir) {
    soultest::generic::write_table(dir + "/trials.csv", soultest::generic::kRows);
    seed("tables", "csv", std::string(1, '\0') + read_bytes(dir + "/trials.csv"));
    seed("tables", "csv-quoted", std::string(1, '\0') + "nsdId,cocoId,shared1000,caption\n1,532481,True,\"a, quoted \"\"caption\"\"\"\n2,1e3,False,\n");
    seed("tables", "labels-aal.txt", "\x01" "1 Precentral_L 2001\n2 Precentral_R 2002\n# comment\n45 Cuneus_L 5001\n");
    seed("tables", "labels-rgb.txt", "\x01" "0 Unknown 0 0 0 0\n1 early 255 0 0 255\n5 ventral 0 128 255\n");
    std::string lut(1, '\x02');
    for (int c = 0; c < 3; ++c)
        for (int v = 0; v < 256; ++v) lut.push_back(static_cast<char>((v * (c + 3)) % 256));
    seed("tables", "colours.lut", lut);
    seed("tables", "coco.json", "\x03" R"({"annotations":[{"image_id":5001,"caption":"a cat on a mat"},{"image_id":5001,"caption":"two"},{"image_id":7,"caption":"é ü"}]})");
    std::string idx = std::string("\x04") + std::string("\0\0\x08\x03\0\0\0\x02\0\0\0\x03\0\0\0\x03", 16);
    for (int i = 0; i < 18; ++i) idx.push_back(static_cast<char>(i * 13));
    seed("tables", "idx-images", idx);
    seed("tables", "idx-labels", std::string("\x05") + std::string("\0\0\x08\x01\0\0\0\x04\x01\x02\x03\x09", 12));
}

void image_seeds(const std::string& dir) {
    for (const std::string name : {"a", "t1", "long-name"}) {
        soul::write_png(dir + "/" + name + ".png", soultest::generic::image_for(name));
        seed("image", name + ".png", read_bytes(dir + "/" + name + ".png"));
    }
}

void prepared_seeds(const std::string& dir) {
    soul::PrepareOptions o;
    o.nsd_root = soultest::write_generic_fixture(dir + "/generic");
    o.out = dir + "/prepared";
    o.image_size = 8;   // the smallest prepare takes
    soul::prepare_dataset(o);
    const std::string manifest = read_bytes(o.out + "/manifest.json"), data = read_bytes(o.out + "/data.bin"),
                      captions = read_bytes(o.out + "/captions.json");
    seed("prepared", "generic", joined(joined(manifest, data), captions));
    seed("prepared", "manifest-only", manifest);
    seed("prepared", "truncated-data", joined(joined(manifest, data.substr(0, data.size() / 2)), captions));
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: fuzz_seeds CORPUS_DIR\n");
        return 2;
    }
    g_corpus = argv[1];
    const std::string dir = soultest::tempFolder("fuzz-seeds");
    try {
        nifti_seeds(dir);
        mat_seeds(dir);
        hdf5_seeds(dir);
        table_seeds(dir);
        image_seeds(dir);
        prepared_seeds(dir);
#if SOUL_FUZZ_CHECKPOINT
        for (const auto& [name, bytes] : soul::fuzz::checkpoint_seeds(dir + "/checkpoint")) seed("checkpoint", name, bytes);
#endif
    } catch (const std::exception& e) {
        std::fprintf(stderr, "fuzz_seeds: %s\n", e.what());
        fs::remove_all(dir);
        return 1;
    }
    fs::remove_all(dir);
    for (const auto& t : soul::fuzz::targets()) std::printf("%s: seeds in %s\n", t.name, (g_corpus / t.name).c_str());
    return 0;
}
