// Randomised request sequences checked against a simple reference model of the store, and
// an in-process fuzz of the engine with random and mutated messages.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <random>
#include <set>

#include "client.hpp"

using namespace xs;
using namespace xs::test;

namespace {

// The reference: a sorted map of path -> value, parents implied by the rules.
struct Model {
    std::map<std::string, std::string> nodes{{"/", ""}};

    static std::string parent(const std::string& p) {
        auto s = p.rfind('/');
        return s == 0 ? "/" : p.substr(0, s);
    }
    bool exists(const std::string& p) const { return nodes.count(p) != 0; }
    std::string write(const std::string& p, const std::string& v) {
        for (std::string q = p; !exists(q); q = parent(q)) nodes[q] = "";
        nodes[p] = v;
        return "";
    }
    std::string mkdir(const std::string& p) {
        for (std::string q = p; !exists(q); q = parent(q)) nodes[q] = "";
        return "";
    }
    std::string rm(const std::string& p) {
        if (!exists(p)) return exists(parent(p)) ? "" : "ENOENT";
        auto it = nodes.lower_bound(p);
        while (it != nodes.end() && (it->first == p || it->first.rfind(p + "/", 0) == 0))
            it = nodes.erase(it);
        return "";
    }
    std::string read(const std::string& p) const {
        auto it = nodes.find(p);
        return it == nodes.end() ? "!ENOENT" : it->second;
    }
    std::string dir(const std::string& p) const {
        if (!exists(p)) return "!ENOENT";
        std::vector<std::string> kids;
        for (const auto& [k, v] : nodes)
            if (k != "/" && k != p && parent(k) == p) kids.push_back(k.substr(k.rfind('/') + 1));
        std::sort(kids.begin(), kids.end());
        std::string out;
        for (auto& k : kids) out += k + ",";
        return out;
    }
};

std::string sorted_dir(std::string listing) {
    if (!listing.empty() && listing[0] == '!') return listing;
    std::vector<std::string> kids;
    size_t pos = 0;
    while (pos < listing.size()) {
        size_t c = listing.find(',', pos);
        kids.push_back(listing.substr(pos, c - pos));
        pos = c + 1;
    }
    std::sort(kids.begin(), kids.end());
    std::string out;
    for (auto& k : kids) out += k + ",";
    return out;
}

struct Op {
    int kind;  // 0 write 1 mkdir 2 rm 3 read 4 dir
    std::string path, value, result;
};

std::string random_path(std::mt19937& rng) {
    static const char* names[] = {"a", "b", "c", "d"};
    int depth = 1 + static_cast<int>(rng() % 4);
    std::string p;
    for (int i = 0; i < depth; ++i) p += std::string("/") + names[rng() % 4];
    return p;
}

std::string apply(Model& m, const Op& op) {
    switch (op.kind) {
    case 0: return m.write(op.path, op.value);
    case 1: return m.mkdir(op.path);
    case 2: return m.rm(op.path);
    case 3: return m.read(op.path);
    default: return m.dir(op.path);
    }
}

std::string run(Client& c, const Op& op, uint32_t tx) {
    switch (op.kind) {
    case 0: return c.write(op.path, op.value, tx);
    case 1: return c.mkdir(op.path, tx);
    case 2: return c.rm(op.path, tx);
    case 3: return c.read(op.path, tx);
    default: return sorted_dir(c.dir(op.path, tx));
    }
}

uint64_t seed_from_env() {
    const char* s = std::getenv("XENSTORED_TEST_SEED");
    return s ? std::strtoull(s, nullptr, 10) : 20240601;
}
int iterations_from_env(int dflt) {
    const char* s = std::getenv("XENSTORED_TEST_ITERATIONS");
    return s ? std::atoi(s) : dflt;
}

// Three clients, each sometimes inside a transaction. Direct requests must match the model
// at once; a committed transaction must replay on the model, at its commit point, with the
// same results it saw; a transaction during which nothing else changed must commit.
TEST(XenstoreModel, RandomSequencesMatchReference) {
    const uint64_t seed = seed_from_env();
    std::mt19937 rng(static_cast<uint32_t>(seed));
    Engine engine;
    Model model;
    struct Actor {
        std::unique_ptr<Client> client;
        uint32_t tx = 0;
        std::vector<Op> ops;
        uint64_t changes_at_start = 0;
    };
    std::vector<Actor> actors(3);
    for (auto& a : actors) a.client = std::make_unique<Client>(engine);
    uint64_t changes = 0;  // committed modifications so far
    const int n = iterations_from_env(20000);
    int commits = 0, conflicts = 0;
    for (int i = 0; i < n; ++i) {
        Actor& a = actors[rng() % actors.size()];
        unsigned r = rng() % 100;
        if (r < 6 && a.tx == 0) {
            a.tx = a.client->tx_start();
            ASSERT_NE(a.tx, 0u);
            a.ops.clear();
            a.changes_at_start = changes;
            continue;
        }
        if (r < 12 && a.tx != 0) {
            bool commit = rng() % 4 != 0;
            std::string res = a.client->tx_end(a.tx, commit);
            a.tx = 0;
            if (!commit) {
                ASSERT_EQ(res, "");
                continue;
            }
            bool writes = std::any_of(a.ops.begin(), a.ops.end(), [](const Op& o) { return o.kind <= 2; });
            if (res == "EAGAIN") {
                ++conflicts;
                ASSERT_NE(changes, a.changes_at_start) << "spurious conflict, seed " << seed;
                continue;
            }
            ASSERT_EQ(res, "") << "seed " << seed;
            ++commits;
            for (const Op& op : a.ops)
                ASSERT_EQ(apply(model, op), op.result) << "replay of " << op.path << " seed " << seed << " step " << i;
            if (writes) ++changes;
            if (std::getenv("XENSTORED_MODEL_DEBUG")) {
                std::string why;
                if (!engine.check(why) || engine.tree().size() != model.nodes.size())
                    FAIL() << "diverged at commit step " << i << " " << why;
            }
            continue;
        }
        Op op{static_cast<int>(rng() % 5), random_path(rng), std::to_string(rng() % 1000), {}};
        op.result = run(*a.client, op, a.tx);
        if (a.tx) {
            a.ops.push_back(op);
        } else {
            ASSERT_EQ(op.result, apply(model, op)) << "op " << op.kind << " " << op.path << " seed " << seed << " step " << i;
            if (op.kind <= 2) ++changes;
        }
        if (std::getenv("XENSTORED_MODEL_DEBUG") && engine.tree().size() != model.nodes.size())
            FAIL() << "diverged at step " << i << " kind " << op.kind << " " << op.path << " tx " << a.tx;
    }
    // The whole tree equals the model.
    size_t count = 0;
    engine.tree().for_each([&](const std::string& path, const Node& node) {
        ++count;
        EXPECT_EQ(model.read(path), node.value) << path;
    });
    EXPECT_EQ(count, model.nodes.size());
    std::string why;
    EXPECT_TRUE(engine.check(why)) << why;
    EXPECT_GT(commits, 0);
    RecordProperty("conflicts", conflicts);
}

// Random and mutated messages from several connections (privileged and not), with
// connections vanishing mid-transaction: every request gets exactly one reply with its
// request id, and the engine's structures stay consistent.
TEST(XenstoreFuzz, EngineSurvivesRandomAndMutatedMessages) {
    const uint64_t seed = seed_from_env() + 1;
    std::mt19937 rng(static_cast<uint32_t>(seed));
    Engine engine;
    engine.quotas().nodes = 200;
    std::vector<std::unique_ptr<Client>> clients;
    auto make = [&](unsigned i) {
        return std::make_unique<Client>(engine, i % 2 ? ConnConfig{i, false, true} : ConnConfig{0, true, i % 3 != 0});
    };
    for (unsigned i = 0; i < 6; ++i) clients.push_back(make(i));
    Client sentinel(engine);
    ASSERT_EQ(sentinel.write("/sentinel/value", "kept"), "");
    ASSERT_EQ(sentinel.set_perms({"/sentinel", "n0"}), "");
    ASSERT_EQ(sentinel.set_perms({"/sentinel/value", "n0"}), "");

    static const char* fragments[] = {"/", "a", "b", "/local/domain/1", "@releaseDomain", "@introduceDomain",
                                      "T", "F", "0", "1", "-1", "r1", "b0", "n3", "w1", "..", "//", "x y",
                                      "check", "nodes", "999999999999", "/sentinel"};
    std::vector<std::string> corpus = {args({"/a/b"}), std::string("/a\0v", 4), args({"/a", "t"}),
                                       args({"T"}), args({"1", "2", "3"}), args({"/a", "0"})};
    const int n = iterations_from_env(30000);
    for (int i = 0; i < n; ++i) {
        Client& c = *clients[rng() % clients.size()];
        std::string payload;
        if (rng() % 2) {
            int parts = static_cast<int>(rng() % 5);
            for (int k = 0; k < parts; ++k) {
                payload += fragments[rng() % std::size(fragments)];
                if (rng() % 4) payload.push_back('\0');
            }
        } else {
            payload = corpus[rng() % corpus.size()];
            int flips = static_cast<int>(rng() % 4);
            for (int k = 0; k < flips && !payload.empty(); ++k)
                payload[rng() % payload.size()] = static_cast<char>(rng());
            if (rng() % 8 == 0) payload.append(rng() % 100, static_cast<char>('a' + rng() % 26));
        }
        if (payload.size() > kPayloadMax) payload.resize(kPayloadMax);
        auto type = static_cast<MsgType>(rng() % 30);
        if (type == MsgType::release || type == MsgType::set_perms) {
            // Keep the sentinel's permissions and avoid releasing random domains too often.
            if (payload.find("sentinel") != std::string::npos) continue;
        }
        if (type == MsgType::rm && payload.rfind("/", 0) == 0 && payload.size() <= 2) continue;
        uint32_t tx = rng() % 3 == 0 ? static_cast<uint32_t>(rng() % 8) : 0;
        if (type == MsgType::rm || type == MsgType::write || type == MsgType::mkdir)
            if (payload.find("sentinel") != std::string::npos) continue;
        Msg m = c.call(type, payload, tx);
        ASSERT_NE(m.type, 0xdeadu) << "no reply, seed " << seed << " step " << i;
        c.events();
        if (rng() % 500 == 0) {
            size_t k = rng() % clients.size();
            engine.remove_connection(clients[k]->id());
            clients[k] = make(static_cast<unsigned>(k));
        }
        if (i % 1000 == 0) {
            std::string why;
            ASSERT_TRUE(engine.check(why)) << why << " seed " << seed << " step " << i;
        }
    }
    std::string why;
    EXPECT_TRUE(engine.check(why)) << why;
    EXPECT_EQ(sentinel.read("/sentinel/value"), "kept");
}

}  // namespace
