// CLIP's BPE and BERT's WordPiece tokenizers (soul/tokenizers.h) against Hugging Face's own
// tokenizers library: every id of tests/data/tokenizers/reference.json, which
// tests/core/tokenizer_reference.cjs wrote with the Rust library (npm `tokenizers`) on the tiny
// vocabularies beside it (tests/core/make_tokenizer_vocab.py). And the bad-input paths.
#include "ExpectError.h"
#include "NiftiFixture.h"
#include "soul/error.h"
#include "soul/tokenizers.h"

#include <nlohmann/json.hpp>

#include <QtTest>

#include <filesystem>
#include <fstream>

using namespace soultest;

namespace {

const std::string kFixtures = SOUL_SOURCE_DIR "/tests/data/tokenizers";

nlohmann::json reference() {
    std::ifstream in(kFixtures + "/reference.json");
    return nlohmann::json::parse(in);
}

QString show(const std::vector<int64_t>& ids) {
    QStringList s;
    for (auto id : ids) s << QString::number(id);
    return s.join(' ');
}

}  // namespace

class TestTokenizers : public QObject {
    Q_OBJECT
    std::string m_dir;

    std::string write(const std::string& name, const std::string& content) {
        const auto path = m_dir + "/" + name;
        std::filesystem::create_directories(std::filesystem::path(path).parent_path());
        std::ofstream(path, std::ios::binary) << content;
        return path;
    }
    std::string fixtureText(const std::string& name) {
        std::ifstream in(kFixtures + "/" + name, std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(in), {});
    }

private Q_SLOTS:
    void initTestCase() { m_dir = tempFolder("tokenizers"); }
    void cleanupTestCase() { std::filesystem::remove_all(m_dir); }

    void clipMatchesHuggingFace() {
        const auto clip = soul::ClipTokenizer::read(kFixtures);
        const auto ref = reference();
        const int64_t length = ref["clip_length"];
        QCOMPARE(length, soul::ClipTokenizer::kContextLength);
        QVERIFY(ref["cases"].size() >= 20);
        for (const auto& c : ref["cases"]) {
            const std::string text = c["text"];
            const auto ids = clip.encode(text);
            const auto expected = c["clip_ids"].get<std::vector<int64_t>>();
            QVERIFY2(ids == expected, qPrintable(QString::fromStdString(text) + "\n ours " + show(ids) + "\n  hf  " + show(expected)));
            const auto tokens = c["clip_tokens"].get<std::vector<std::string>>();
            for (size_t i = 0; i < ids.size(); ++i) QCOMPARE(clip.token(ids[i]), tokens[i]);
            QVERIFY2(clip.encode(text, length) == c["clip_ids_77"].get<std::vector<int64_t>>(), text.c_str());
        }
    }

    void bertMatchesHuggingFace() {
        const auto bert = soul::WordPieceTokenizer::read(kFixtures + "/vocab.txt");
        const auto ref = reference();
        const int64_t length = ref["bert_length"];
        for (const auto& c : ref["cases"]) {
            const std::string text = c["text"];
            const auto ids = bert.encode(text);
            const auto expected = c["bert_ids"].get<std::vector<int64_t>>();
            QVERIFY2(ids == expected, qPrintable(QString::fromStdString(text) + "\n ours " + show(ids) + "\n  hf  " + show(expected)));
            QVERIFY2(bert.encode(text, length) == c["bert_ids_24"].get<std::vector<int64_t>>(), text.c_str());
        }
    }

    // The cases that make the reference worth having: lengths, specials, the unknown token.
    void referenceCoversTheTrickyParts() {
        const auto ref = reference();
        const auto clip = soul::ClipTokenizer::read(kFixtures);
        const auto bert = soul::WordPieceTokenizer::read(kFixtures);
        bool clip_cut = false, bert_cut = false, bert_unknown = false;
        for (const auto& c : ref["cases"]) {
            const auto clip77 = c["clip_ids_77"].get<std::vector<int64_t>>();
            QCOMPARE(clip77.size(), size_t(77));
            QCOMPARE(clip77.front(), clip.start_id());
            clip_cut |= c["clip_ids"].size() > 77 && clip77.back() == clip.end_id();
            bert_cut |= c["bert_ids"].size() > 24;
            for (auto id : c["bert_ids"].get<std::vector<int64_t>>()) bert_unknown |= id == bert.unknown_id();
        }
        QVERIFY(clip_cut);
        QVERIFY(bert_cut);
        QVERIFY(bert_unknown);
    }

    // Stable Diffusion 2.x's OpenCLIP tokenizer pads with "!" (id 0) instead of <|endoftext|>.
    void padToken() {
        auto clip = soul::ClipTokenizer::read(kFixtures);
        QCOMPARE(clip.pad_id(), clip.end_id());
        clip.set_pad_token("!");
        const auto ids = clip.encode("a red coat", 10);
        QCOMPARE(ids.size(), size_t(10));
        QCOMPARE(ids.back(), int64_t(0));
        QVERIFY(std::find(ids.begin(), ids.end(), clip.end_id()) != ids.end());
        expectError([&] { clip.set_pad_token("<pad>"); }, {"<pad>"});
    }

    void badTokenizerFiles() {
        const std::string vocab = fixtureText("vocab.json"), merges = fixtureText("merges.txt");
        write("no-merges/vocab.json", vocab);
        expectError([&] { soul::ClipTokenizer::read(m_dir + "/no-merges"); }, {"no-merges", "merges.txt"});
        write("not-json/vocab.json", "{\"a\": 1,");
        write("not-json/merges.txt", merges);
        expectError([&] { soul::ClipTokenizer::read(m_dir + "/not-json"); }, {"not-json/vocab.json", "not JSON"});
        write("list/vocab.json", "[\"a\", \"b\"]");
        write("list/merges.txt", merges);
        expectError([&] { soul::ClipTokenizer::read(m_dir + "/list"); }, {"list/vocab.json", "token → id"});
        write("no-specials/vocab.json", "{\"a\": 0, \"b\": 1, \"ab\": 2}");
        write("no-specials/merges.txt", "a b\n");
        expectError([&] { soul::ClipTokenizer::read(m_dir + "/no-specials"); }, {"no-specials/vocab.json", "<|startoftext|>"});
        write("bad-merge/vocab.json", vocab);
        write("bad-merge/merges.txt", "#version: 0.2\nt h\nq z\n");
        expectError([&] { soul::ClipTokenizer::read(m_dir + "/bad-merge"); }, {"bad-merge/merges.txt", "line 3", "\"qz\""});
        write("three/vocab.json", vocab);
        write("three/merges.txt", "t h e\n");
        expectError([&] { soul::ClipTokenizer::read(m_dir + "/three"); }, {"three/merges.txt", "line 1", "two tokens"});
        write("dup-id/vocab.json", "{\"a\": 0, \"b\": 0}");
        write("dup-id/merges.txt", merges);
        expectError([&] { soul::ClipTokenizer::read(m_dir + "/dup-id"); }, {"dup-id/vocab.json", "id 0"});
        expectError([&] { soul::ClipTokenizer::read(m_dir + "/absent"); }, {"absent", "not a tokenizer folder"});

        expectError([&] { soul::WordPieceTokenizer::read(m_dir + "/no-merges"); }, {"no-merges", "vocab.txt"});
        write("bert-empty/vocab.txt", "");
        expectError([&] { soul::WordPieceTokenizer::read(m_dir + "/bert-empty"); }, {"bert-empty/vocab.txt", "empty"});
        write("bert-no-cls/vocab.txt", "[PAD]\n[UNK]\n[SEP]\na\n");
        expectError([&] { soul::WordPieceTokenizer::read(m_dir + "/bert-no-cls"); }, {"bert-no-cls/vocab.txt", "[CLS]"});
        write("bert-dup/vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\na\nb\na\n");
        expectError([&] { soul::WordPieceTokenizer::read(m_dir + "/bert-dup"); }, {"bert-dup/vocab.txt", "line 7", "twice"});
        write("bert-utf8/vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n\xff\xfe\n");
        expectError([&] { soul::WordPieceTokenizer::read(m_dir + "/bert-utf8"); }, {"bert-utf8/vocab.txt line 5", "UTF-8"});
    }

    void badText() {
        const auto clip = soul::ClipTokenizer::read(kFixtures);
        const auto bert = soul::WordPieceTokenizer::read(kFixtures);
        expectError([&] { clip.encode("caf\xc3"); }, {"not valid UTF-8", "byte 3"});
        expectError([&] { bert.encode("a \xed\xa0\x80 b"); }, {"not valid UTF-8", "byte 2"});
        expectError([&] { clip.encode("a", 1); }, {"length 1"});
        expectError([&] { bert.encode("a", 0); }, {"length 0"});
    }
};

QTEST_GUILESS_MAIN(TestTokenizers)
#include "tst_tokenizers.moc"
