// Fuzz target: the text and small binary tables (core/io/table_io.cpp, core/data/labels.cpp).
// The first byte picks the reader; the rest is the file.
#include "fuzz_targets.h"
#include "soul/formats.h"
#include "soul/labels.h"

namespace soul::fuzz {

void tables(const uint8_t* data, size_t size) {
    if (size == 0) return;
    const uint8_t kind = data[0] % 6;
    ++data;
    --size;
    switch (kind) {
    case 0: {
        const std::string path = write_scratch("nsd_stim_info.csv", data, size);
        expect_clean([&] {
            const CsvTable table = read_csv(path);
            for (size_t r = 0; r < table.rows.size(); ++r)
                for (size_t c = 0; c < table.columns.size(); ++c) {
                    expect_clean([&] { (void)table.number(r, static_cast<int>(c), path); });
                    expect_clean([&] { (void)table.integer(r, static_cast<int>(c), path); });
                }
            expect_clean([&] { (void)table.require("nsdId", path); });
        });
        break;
    }
    case 1: {
        const std::string path = write_scratch("labels.txt", data, size);
        expect_clean([&] { (void)read_label_table(path).labels(); });
        break;
    }
    case 2: {
        const std::string path = write_scratch("labels.lut", data, size);
        expect_clean([&] { (void)read_label_table(path).labels(); });
        break;
    }
    case 3: {
        const std::string path = write_scratch("captions_train2017.json", data, size);
        expect_clean([&] { (void)read_coco_captions(path); });
        break;
    }
    case 4: {
        const std::string path = write_scratch("train-images-idx3-ubyte", data, size);
        expect_clean([&] {
            const IdxImages images = read_idx_images(path);
            // Unsigned: a zero count with huge sides is a valid empty file, and its product must not overflow here.
            if (images.pixels.size() != static_cast<uint64_t>(images.count) * static_cast<uint64_t>(images.rows) * static_cast<uint64_t>(images.cols))
                std::abort();
        });
        break;
    }
    default: {
        const std::string path = write_scratch("train-labels-idx1-ubyte", data, size);
        expect_clean([&] { (void)read_idx_labels(path); });
        break;
    }
    }
}

}  // namespace soul::fuzz
