// Host unit tests of the xenstore engine: golden exchanges for every message type,
// permissions, transactions, watches, quotas and domain life cycle.
#include <gtest/gtest.h>

#include "client.hpp"
#include "engine/path.hpp"

using namespace xs;
using namespace xs::test;

namespace {

ConnConfig domu(uint32_t domid) { return ConnConfig{domid, false, true}; }

class EngineTest : public ::testing::Test {
protected:
    void TearDown() override {
        std::string why;
        EXPECT_TRUE(engine.check(why)) << why;
    }
    Engine engine;
    Client dom0{engine};
};

// A golden exchange: raw request -> exact reply type and payload.
struct Golden {
    MsgType type;
    std::string payload;
    uint32_t reply_type;
    std::string reply;
};

TEST_F(EngineTest, GoldenExchanges) {
    const uint32_t E = static_cast<uint32_t>(MsgType::error);
    auto T = [](MsgType t) { return static_cast<uint32_t>(t); };
    const std::vector<Golden> script = {
        {MsgType::read, args({"/a"}), E, args({"ENOENT"})},
        {MsgType::write, std::string("/a/b\0hello", 10), T(MsgType::write), args({"OK"})},
        {MsgType::read, args({"/a/b"}), T(MsgType::read), "hello"},
        {MsgType::read, args({"/a"}), T(MsgType::read), ""},
        {MsgType::write, std::string("/a/c\0", 5), T(MsgType::write), args({"OK"})},
        {MsgType::directory, args({"/a"}), T(MsgType::directory), args({"b", "c"})},
        {MsgType::mkdir, args({"/a/b"}), T(MsgType::mkdir), args({"OK"})},
        {MsgType::mkdir, args({"/m/n/o"}), T(MsgType::mkdir), args({"OK"})},
        {MsgType::get_perms, args({"/a/b"}), T(MsgType::get_perms), args({"n0"})},
        {MsgType::set_perms, args({"/a/b", "r5", "w7"}), T(MsgType::set_perms), args({"OK"})},
        {MsgType::get_perms, args({"/a/b"}), T(MsgType::get_perms), args({"r5", "w7"})},
        {MsgType::set_perms, args({"/a/b", "x5"}), E, args({"EINVAL"})},
        {MsgType::rm, args({"/a/zz"}), T(MsgType::rm), args({"OK"})},
        {MsgType::rm, args({"/q/zz"}), E, args({"ENOENT"})},
        {MsgType::rm, args({"/"}), E, args({"EINVAL"})},
        {MsgType::rm, args({"/a"}), T(MsgType::rm), args({"OK"})},
        {MsgType::directory, args({"/"}), T(MsgType::directory), args({"m"})},
        {MsgType::get_domain_path, args({"7"}), T(MsgType::get_domain_path), args({"/local/domain/7"})},
        {MsgType::is_domain_introduced, args({"7"}), T(MsgType::is_domain_introduced), args({"F"})},
        {MsgType::is_domain_introduced, args({"0"}), T(MsgType::is_domain_introduced), args({"T"})},
        {MsgType::introduce, args({"7", "-1", "3"}), T(MsgType::introduce), args({"OK"})},
        {MsgType::is_domain_introduced, args({"7"}), T(MsgType::is_domain_introduced), args({"T"})},
        {MsgType::set_target, args({"7", "0"}), T(MsgType::set_target), args({"OK"})},
        {MsgType::resume, args({"7"}), T(MsgType::resume), args({"OK"})},
        {MsgType::release, args({"7"}), T(MsgType::release), args({"OK"})},
        {MsgType::release, args({"7"}), E, args({"ENOENT"})},
        {MsgType::resume, args({"7"}), E, args({"ENOENT"})},
        {MsgType::introduce, args({"7", "x", "3"}), E, args({"EINVAL"})},
        {MsgType::introduce, args({"7", "1"}), E, args({"EINVAL"})},
        {MsgType::read, args({"bad//path"}), E, args({"EINVAL"})},
        {MsgType::read, args({"/trailing/"}), E, args({"EINVAL"})},
        {MsgType::read, args({"/sp ace"}), E, args({"EINVAL"})},
        {MsgType::read, args({"@introduceDomain"}), E, args({"EINVAL"})},
        {MsgType::read, std::string("/m"), E, args({"EINVAL"})},  // no NUL
        {MsgType::read, args({"/m", "x"}), E, args({"EINVAL"})},  // two strings
        {MsgType::write, std::string("/m"), E, args({"EINVAL"})},
        {MsgType::watch_event, args({"/m", "t"}), E, args({"ENOSYS"})},
        {MsgType::error, args({"x"}), E, args({"ENOSYS"})},
        {MsgType::restrict_removed, args({"1"}), E, args({"ENOSYS"})},
        {static_cast<MsgType>(999), args({"x"}), E, args({"ENOSYS"})},
        {MsgType::transaction_end, args({"T"}), E, args({"ENOENT"})},
        {MsgType::unwatch, args({"/m", "t"}), E, args({"ENOENT"})},
        {MsgType::reset_watches, args({""}), T(MsgType::reset_watches), args({"OK"})},
        {MsgType::control, args({"check"}), T(MsgType::control), args({"OK"})},
        {MsgType::control, args({"nonsense"}), E, args({"EINVAL"})},
        {MsgType::get_perms, args({"@releaseDomain"}), T(MsgType::get_perms), args({"n0"})},
        {MsgType::get_perms, args({"@other"}), E, args({"ENOENT"})},
        {MsgType::set_quota, args({"nodes", "2000"}), T(MsgType::set_quota), args({"OK"})},
        {MsgType::get_quota, args({"nodes"}), T(MsgType::get_quota), args({"2000"})},
        {MsgType::get_feature, args({""}), T(MsgType::get_feature), args({"3"})},
    };
    for (const Golden& g : script) {
        Msg m = dom0.call(g.type, g.payload);
        std::string shown = g.payload;
        for (char& c : shown) if (c == '\0') c = '|';
        EXPECT_EQ(m.type, g.reply_type) << msg_type_name(static_cast<uint32_t>(g.type)) << " " << shown;
        EXPECT_EQ(m.payload, g.reply) << msg_type_name(static_cast<uint32_t>(g.type)) << " " << shown;
    }
}

TEST_F(EngineTest, RepliesEchoRequestAndTransactionIds) {
    uint32_t tx = dom0.tx_start();
    ASSERT_NE(tx, 0u);
    MsgHeader h{static_cast<uint32_t>(MsgType::write), 0xabcdef, tx, 4};
    engine.handle(dom0.id(), h, std::string_view("/x\0y", 4));
    OutQueue* q = engine.output(dom0.id());
    MsgHeader r;
    ASSERT_GE(q->pending(), sizeof r);
    std::memcpy(&r, q->buf.data() + q->off, sizeof r);
    EXPECT_EQ(r.req_id, 0xabcdefu);
    EXPECT_EQ(r.tx_id, tx);
    EXPECT_EQ(r.type, static_cast<uint32_t>(MsgType::write));
    dom0.pump();
}

TEST_F(EngineTest, PathsAndRelativeResolution) {
    EXPECT_EQ(resolve_path("device/vbd", 5, false).value(), "/local/domain/5/device/vbd");
    EXPECT_FALSE(resolve_path("", 5, false));
    EXPECT_FALSE(resolve_path("/a//b", 0, false));
    EXPECT_FALSE(resolve_path(std::string(3073, 'a').insert(0, "/"), 0, false));
    EXPECT_TRUE(resolve_path("/" + std::string(3071, 'a'), 0, false));
    EXPECT_FALSE(resolve_path(std::string(2049, 'a'), 0, false));
    EXPECT_EQ(resolve_path("@releaseDomain", 5, true).value(), "@releaseDomain");

    Client guest(engine, domu(5));
    ASSERT_EQ(dom0.mkdir("/local/domain/5"), "");
    ASSERT_EQ(dom0.set_perms({"/local/domain/5", "n5"}), "");
    EXPECT_EQ(guest.write("data/x", "1"), "");
    EXPECT_EQ(dom0.read("/local/domain/5/data/x"), "1");
    EXPECT_EQ(guest.read("data/x"), "1");
    EXPECT_EQ(dom0.perms("/local/domain/5/data/x"), "n5,");
}

TEST_F(EngineTest, PermissionModel) {
    Client d5(engine, domu(5)), d6(engine, domu(6));
    ASSERT_EQ(dom0.write("/p/n0", "v"), "");
    ASSERT_EQ(dom0.write("/p/r5", "v"), "");
    ASSERT_EQ(dom0.set_perms({"/p/r5", "n0", "r5"}), "");
    ASSERT_EQ(dom0.write("/p/b", "v"), "");
    ASSERT_EQ(dom0.set_perms({"/p/b", "b0"}), "");
    ASSERT_EQ(dom0.write("/p/own5", "v"), "");
    ASSERT_EQ(dom0.set_perms({"/p/own5", "n5", "r6"}), "");

    EXPECT_EQ(d5.read("/p/n0"), "!EACCES");
    EXPECT_EQ(d5.read("/p/r5"), "v");
    EXPECT_EQ(d6.read("/p/r5"), "!EACCES");
    EXPECT_EQ(d5.write("/p/r5", "x"), "EACCES");
    EXPECT_EQ(d6.read("/p/b"), "v");
    EXPECT_EQ(d6.write("/p/b", "w"), "");
    EXPECT_EQ(d5.write("/p/own5", "mine"), "");
    EXPECT_EQ(d6.read("/p/own5"), "mine");
    EXPECT_EQ(d6.write("/p/own5", "x"), "EACCES");

    // Existence does not leak: ENOENT only with access to the nearest existing ancestor.
    EXPECT_EQ(d5.read("/p/n0/missing"), "!EACCES");
    EXPECT_EQ(d5.read("/p/b/missing"), "!ENOENT");
    EXPECT_EQ(d5.read("/nothing/at/all"), "!EACCES");  // root is n0

    // New nodes inherit the parent's list; an unprivileged creator becomes the owner.
    EXPECT_EQ(d6.write("/p/b/child", "c"), "");
    EXPECT_EQ(dom0.perms("/p/b/child"), "b6,");
    EXPECT_EQ(dom0.write("/p/b/child0", "c"), "");
    EXPECT_EQ(dom0.perms("/p/b/child0"), "b0,");

    // Only the owner changes permissions; only privileged callers change the owner.
    EXPECT_EQ(d6.set_perms({"/p/own5", "r6"}), "EACCES");
    EXPECT_EQ(d5.set_perms({"/p/own5", "n5", "b6"}), "");
    EXPECT_EQ(d6.write("/p/own5", "now"), "");
    EXPECT_EQ(d5.set_perms({"/p/own5", "n6"}), "EPERM");
    EXPECT_EQ(dom0.set_perms({"/p/own5", "n6"}), "");
    EXPECT_EQ(d6.set_perms({"/p/own5", "n6", "r5"}), "");

    // RM needs write access; refused removal leaves the node.
    EXPECT_EQ(d5.rm("/p/r5"), "EACCES");
    EXPECT_EQ(dom0.read("/p/r5"), "v");
    EXPECT_EQ(d5.mkdir("/p/n0"), "EACCES");
    EXPECT_EQ(d5.dir("/p"), "!EACCES");
}

TEST_F(EngineTest, ReadOnlyConnectionGetsErofs) {
    Client ro(engine, ConnConfig{0, true, false});
    ASSERT_EQ(dom0.write("/x", "1"), "");
    EXPECT_EQ(ro.read("/x"), "1");
    EXPECT_EQ(ro.write("/x", "2"), "EROFS");
    EXPECT_EQ(ro.rm("/x"), "EROFS");
    EXPECT_EQ(ro.tx_start(), 0u);
    EXPECT_EQ(dom0.read("/x"), "1");
}

TEST_F(EngineTest, TransactionsIsolateAndCommit) {
    ASSERT_EQ(dom0.write("/t/a", "0"), "");
    uint32_t tx = dom0.tx_start();
    ASSERT_NE(tx, 0u);
    EXPECT_EQ(dom0.write("/t/a", "1", tx), "");
    EXPECT_EQ(dom0.write("/t/new/deep", "n", tx), "");
    EXPECT_EQ(dom0.read("/t/a", tx), "1");
    EXPECT_EQ(dom0.read("/t/a"), "0");  // outside: unchanged
    EXPECT_EQ(dom0.read("/t/new/deep"), "!ENOENT");
    EXPECT_EQ(dom0.dir("/t", tx), "a,new,");
    EXPECT_EQ(dom0.rm("/t/a", tx), "");
    EXPECT_EQ(dom0.read("/t/a", tx), "!ENOENT");
    EXPECT_EQ(dom0.tx_end(tx, true), "");
    EXPECT_EQ(dom0.read("/t/a"), "!ENOENT");
    EXPECT_EQ(dom0.read("/t/new/deep"), "n");
    EXPECT_EQ(dom0.tx_end(tx, true), "ENOENT");  // the id is gone after END
}

TEST_F(EngineTest, TransactionConflictIsEagain) {
    Client other(engine);
    ASSERT_EQ(dom0.write("/c/x", "0"), "");
    uint32_t tx = dom0.tx_start();
    EXPECT_EQ(dom0.read("/c/x", tx), "0");
    EXPECT_EQ(dom0.write("/c/y", "1", tx), "");
    EXPECT_EQ(other.write("/c/x", "changed"), "");
    EXPECT_EQ(dom0.tx_end(tx, true), "EAGAIN");
    EXPECT_EQ(dom0.read("/c/y"), "!ENOENT");

    // Disjoint changes commit.
    tx = dom0.tx_start();
    EXPECT_EQ(dom0.write("/c/x", "mine", tx), "");
    EXPECT_EQ(other.write("/elsewhere", "1"), "");
    EXPECT_EQ(dom0.tx_end(tx, true), "");
    EXPECT_EQ(dom0.read("/c/x"), "mine");

    // Abort discards.
    tx = dom0.tx_start();
    EXPECT_EQ(dom0.write("/c/x", "aborted", tx), "");
    EXPECT_EQ(dom0.tx_end(tx, false), "");
    EXPECT_EQ(dom0.read("/c/x"), "mine");

    // Nested start and a bad END argument.
    tx = dom0.tx_start();
    EXPECT_EQ(dom0.call(MsgType::transaction_start, args({""}), tx).err(), "EBUSY");
    EXPECT_EQ(dom0.call(MsgType::transaction_end, args({"X"}), tx).err(), "EINVAL");
    EXPECT_EQ(dom0.tx_end(tx, false), "");
    // Unknown transaction ids.
    EXPECT_EQ(dom0.read("/c/x", 12345), "!ENOENT");
}

TEST_F(EngineTest, TransactionsOfOtherConnectionsAreInvisible) {
    Client other(engine);
    uint32_t tx = dom0.tx_start();
    EXPECT_EQ(other.read("/", tx), "!ENOENT");
    EXPECT_EQ(dom0.tx_end(tx, false), "");
}

TEST_F(EngineTest, WatchesFireOnChangesBelowWithInitialEvent) {
    Client w(engine);
    EXPECT_EQ(w.watch("/w", "tok"), "");
    EXPECT_EQ(w.events(), std::vector<std::string>{"/w|tok"});
    ASSERT_EQ(dom0.write("/w/a/b", "1"), "");
    ASSERT_EQ(dom0.write("/other", "1"), "");
    ASSERT_EQ(dom0.write("/wx", "1"), "");  // not below /w
    EXPECT_EQ(w.events(), std::vector<std::string>{"/w/a/b|tok"});
    ASSERT_EQ(dom0.set_perms({"/w/a", "b0"}), "");
    EXPECT_EQ(w.events(), std::vector<std::string>{"/w/a|tok"});
    EXPECT_EQ(w.watch("/w", "tok"), "EEXIST");
    EXPECT_EQ(w.watch("/w/a/b/c", "deep"), "");
    w.events();
    ASSERT_EQ(dom0.rm("/w/a"), "");
    auto ev = w.events();
    std::sort(ev.begin(), ev.end());
    EXPECT_EQ(ev, (std::vector<std::string>{"/w/a/b/c|deep", "/w/a|tok"}));
    EXPECT_EQ(w.call(MsgType::unwatch, args({"/w", "tok"})).err(), "");
    ASSERT_EQ(dom0.write("/w/z", "1"), "");
    EXPECT_TRUE(w.events().empty());
}

TEST_F(EngineTest, WatchDepthAndRelativeWatches) {
    Client w(engine);
    EXPECT_EQ(w.call(MsgType::watch, args({"/d", "t", "1"})).err(), "");
    w.events();
    ASSERT_EQ(dom0.write("/d/a", "1"), "");
    ASSERT_EQ(dom0.write("/d/a/b", "1"), "");
    EXPECT_EQ(w.events(), std::vector<std::string>{"/d/a|t"});

    ASSERT_EQ(dom0.mkdir("/local/domain/5"), "");
    ASSERT_EQ(dom0.set_perms({"/local/domain/5", "n5"}), "");
    Client g(engine, domu(5));
    EXPECT_EQ(g.watch("device", "dev"), "");
    EXPECT_EQ(g.events(), std::vector<std::string>{"device|dev"});
    ASSERT_EQ(dom0.write("/local/domain/5/device/vbd", "x"), "");
    EXPECT_EQ(g.events(), std::vector<std::string>{"device/vbd|dev"});
}

TEST_F(EngineTest, WatchesRespectReadPermission) {
    Client g(engine, domu(5));
    ASSERT_EQ(dom0.mkdir("/s"), "");
    ASSERT_EQ(dom0.set_perms({"/s", "r0"}), "");  // everyone may read
    EXPECT_EQ(g.watch("/s", "t"), "");
    g.events();
    ASSERT_EQ(dom0.write("/s/secret", "x"), "");
    ASSERT_EQ(dom0.set_perms({"/s/secret", "n0"}), "");
    ASSERT_EQ(dom0.write("/s/secret", "y"), "");
    ASSERT_EQ(dom0.write("/s/public", "z"), "");
    // The first write happened while /s/secret was still readable (inherited r0).
    EXPECT_EQ(g.events(), (std::vector<std::string>{"/s/secret|t", "/s/public|t"}));
}

TEST_F(EngineTest, TransactionWatchesFireOnlyOnCommit) {
    Client w(engine);
    EXPECT_EQ(w.watch("/tw", "t"), "");
    w.events();
    uint32_t tx = dom0.tx_start();
    ASSERT_EQ(dom0.write("/tw/a", "1", tx), "");
    EXPECT_TRUE(w.events().empty());
    ASSERT_EQ(dom0.tx_end(tx, true), "");
    EXPECT_EQ(w.events(), std::vector<std::string>{"/tw/a|t"});
    tx = dom0.tx_start();
    ASSERT_EQ(dom0.write("/tw/b", "1", tx), "");
    ASSERT_EQ(dom0.tx_end(tx, false), "");
    EXPECT_TRUE(w.events().empty());
}

TEST_F(EngineTest, SpecialWatchesIntroduceAndRelease) {
    Client w(engine);
    Client g(engine, domu(9));
    EXPECT_EQ(w.watch("@introduceDomain", "i"), "");
    EXPECT_EQ(w.watch("@releaseDomain", "r"), "");
    EXPECT_EQ(g.watch("@releaseDomain", "gr"), "");
    w.events();
    g.events();
    EXPECT_EQ(g.call(MsgType::introduce, args({"4", "0", "1"})).err(), "EACCES");
    EXPECT_EQ(dom0.call(MsgType::introduce, args({"4", "123", "1"})).err(), "");
    EXPECT_EQ(w.events(), std::vector<std::string>{"@introduceDomain|i"});
    // Domain 4 owns a subtree; release removes it and fires @releaseDomain.
    ASSERT_EQ(dom0.write("/local/domain/4/data", "d"), "");
    ASSERT_EQ(dom0.set_perms({"/local/domain/4", "n4"}), "");
    ASSERT_EQ(dom0.set_perms({"/local/domain/4/data", "n4"}), "");
    EXPECT_EQ(dom0.call(MsgType::release, args({"4"})).err(), "");
    EXPECT_EQ(w.events(), std::vector<std::string>{"@releaseDomain|r"});
    EXPECT_TRUE(g.events().empty());  // unprivileged, not granted
    EXPECT_EQ(dom0.read("/local/domain/4"), "!ENOENT");
    // Granting read on the special name lets domain 9 hear releases.
    EXPECT_EQ(dom0.set_perms({"@releaseDomain", "n0", "r9"}), "");
    EXPECT_EQ(dom0.call(MsgType::introduce, args({"4", "123", "1"})).err(), "");
    EXPECT_EQ(dom0.call(MsgType::release, args({"4"})).err(), "");
    EXPECT_EQ(g.events(), std::vector<std::string>{"@releaseDomain|gr"});
}

TEST_F(EngineTest, QuotasGiveEnospc) {
    engine.quotas().nodes = 5;
    engine.quotas().watches = 2;
    engine.quotas().transactions = 1;
    engine.quotas().node_size = 64;
    ASSERT_EQ(dom0.mkdir("/local/domain/3"), "");
    ASSERT_EQ(dom0.set_perms({"/local/domain/3", "n3"}), "");  // owned: counts 1
    Client g(engine, domu(3));
    for (int i = 0; i < 4; ++i) EXPECT_EQ(g.write("n" + std::to_string(i), "x"), "");
    EXPECT_EQ(g.write("n4", "x"), "ENOSPC");
    EXPECT_EQ(g.write("n0", std::string(100, 'x')), "ENOSPC");
    EXPECT_EQ(g.set_perms({"n0", "n3", "r1", "r2", "r4", "r5", "r6"}), "ENOSPC");
    EXPECT_EQ(g.watch("/a", "1"), "");
    EXPECT_EQ(g.watch("/b", "2"), "");
    EXPECT_EQ(g.watch("/c", "3"), "ENOSPC");
    uint32_t tx = g.tx_start();
    EXPECT_NE(tx, 0u);
    EXPECT_EQ(g.call(MsgType::transaction_start, args({""})).err(), "ENOSPC");
    EXPECT_EQ(g.tx_end(tx, false), "");
    // Privileged connections are exempt; removal frees quota.
    EXPECT_EQ(dom0.write("/big", std::string(1000, 'x')), "");
    EXPECT_EQ(g.rm("n3"), "");
    EXPECT_EQ(g.write("n4", "x"), "");
}

TEST_F(EngineTest, DirectoryPartAndOversizedReplies) {
    std::string expect;
    for (int i = 0; i < 400; ++i) {
        std::string name = "child-with-a-long-name-" + std::to_string(i);
        ASSERT_EQ(dom0.write("/big/" + name, ""), "");
        expect += name;
        expect.push_back('\0');
    }
    EXPECT_EQ(dom0.call(MsgType::directory, args({"/big"})).err(), "E2BIG");
    std::string got, gen0;
    size_t off = 0;
    for (int round = 0; round < 100; ++round) {
        Msg m = dom0.call(MsgType::directory_part, args({"/big", std::to_string(off)}));
        ASSERT_FALSE(m.is_error()) << m.err();
        ASSERT_LE(m.payload.size(), kPayloadMax);
        auto nul = m.payload.find('\0');
        std::string gen = m.payload.substr(0, nul);
        if (round == 0) gen0 = gen;
        EXPECT_EQ(gen, gen0);
        std::string chunk = m.payload.substr(nul + 1);
        bool last = chunk.size() >= 1 && (chunk == std::string(1, '\0') ||
                                          (chunk.size() >= 2 && chunk.substr(chunk.size() - 2) == std::string(2, '\0')));
        if (last) chunk.pop_back();
        got += chunk;
        off += chunk.size();
        if (last) break;
    }
    EXPECT_EQ(got, expect);
}

TEST_F(EngineTest, DisconnectMidTransactionLosesNothing) {
    ASSERT_EQ(dom0.write("/keep", "1"), "");
    {
        Client gone(engine);
        uint32_t tx = gone.tx_start();
        ASSERT_EQ(gone.write("/keep", "2", tx), "");
        ASSERT_EQ(gone.watch("/keep", "t"), "");
        engine.remove_connection(gone.id());
    }
    EXPECT_EQ(dom0.read("/keep"), "1");
    EXPECT_EQ(engine.watch_count(), 0u);
    EXPECT_EQ(engine.transaction_count(), 0u);
}

TEST_F(EngineTest, ResetWatchesDropsWatchesAndTransactions) {
    EXPECT_EQ(dom0.watch("/r", "t"), "");
    uint32_t tx = dom0.tx_start();
    EXPECT_EQ(dom0.call(MsgType::reset_watches, args({""})).err(), "");
    EXPECT_EQ(engine.watch_count(), 0u);
    EXPECT_EQ(dom0.tx_end(tx, true), "ENOENT");
}

// A fake hypervisor side: introduced domains get a connection of their own.
class FakeHooks : public DomainHooks {
public:
    Result<std::optional<ConnId>> attach(Engine& e, uint32_t domid, int64_t, uint32_t, bool again) override {
        if (again) return std::optional<ConnId>(conns.at(domid));
        ConnId id = e.add_connection(ConnConfig{domid, false, true});
        conns[domid] = id;
        return std::optional<ConnId>(id);
    }
    void detach(uint32_t domid, ConnId) override { conns.erase(domid); detached.push_back(domid); }
    std::map<uint32_t, ConnId> conns;
    std::vector<uint32_t> detached;
};

TEST_F(EngineTest, IntroduceAttachesAndReleaseDetaches) {
    FakeHooks hooks;
    engine.set_hooks(&hooks);
    EXPECT_EQ(dom0.call(MsgType::introduce, args({"12", "4660", "5"})).err(), "");
    ASSERT_EQ(hooks.conns.count(12), 1u);
    EXPECT_EQ(dom0.call(MsgType::introduce, args({"12", "4660", "6"})).err(), "");  // rebind
    EXPECT_EQ(hooks.conns.size(), 1u);
    EXPECT_EQ(dom0.call(MsgType::release, args({"12"})).err(), "");
    EXPECT_EQ(hooks.detached, std::vector<uint32_t>{12});
    EXPECT_FALSE(engine.has_connection(hooks.conns.count(12) ? hooks.conns[12] : 9999));
    engine.set_hooks(nullptr);
}

TEST_F(EngineTest, SetTargetGivesAccessToTargetsNodes) {
    FakeHooks hooks;
    engine.set_hooks(&hooks);
    ASSERT_EQ(dom0.call(MsgType::introduce, args({"20", "1", "1"})).err(), "");
    ASSERT_EQ(dom0.call(MsgType::introduce, args({"21", "1", "1"})).err(), "");
    ASSERT_EQ(dom0.write("/local/domain/21/x", "v"), "");
    ASSERT_EQ(dom0.set_perms({"/local/domain/21/x", "n21"}), "");
    engine.set_hooks(nullptr);
    // Connection of domain 20, as the fake created it.
    ConnId stub = hooks.conns.at(20);
    MsgHeader h{static_cast<uint32_t>(MsgType::read), 1, 0, 0};
    std::string p = args({"/local/domain/21/x"});
    h.len = static_cast<uint32_t>(p.size());
    engine.handle(stub, h, p);
    EXPECT_NE(engine.output(stub)->buf.find("EACCES"), std::string::npos);
    engine.output(stub)->consume(engine.output(stub)->pending());
    ASSERT_EQ(dom0.call(MsgType::set_target, args({"20", "21"})).err(), "");
    engine.handle(stub, h, p);
    EXPECT_EQ(engine.output(stub)->buf.substr(engine.output(stub)->off + 16), "v");
}

}  // namespace
