// Host tests of the ring transport (pv-abi-devices §5.7) with the page in ordinary memory and
// a guest side written here independently of the server code.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <memory>

#include "client.hpp"
#include "engine/codec.hpp"
#include "transport/ring.hpp"

using namespace xs;
using namespace xs::test;

namespace {

// The guest's half of the protocol: produce requests, consume responses.
struct Guest {
    RingInterface* page;
    // Write as much of `data` as fits; returns bytes written.
    size_t produce(std::string_view data) {
        uint32_t cons = std::atomic_ref<uint32_t>(page->req_cons).load();
        uint32_t prod = page->req_prod;
        size_t space = kRingSize - (prod - cons);
        size_t n = std::min(space, data.size());
        for (size_t i = 0; i < n; ++i) page->req[(prod + i) & (kRingSize - 1)] = data[i];
        std::atomic_ref<uint32_t>(page->req_prod).store(prod + static_cast<uint32_t>(n));
        return n;
    }
    std::string consume() {
        uint32_t prod = std::atomic_ref<uint32_t>(page->rsp_prod).load();
        uint32_t cons = page->rsp_cons;
        std::string out;
        for (uint32_t i = cons; i != prod; ++i) out.push_back(page->rsp[i & (kRingSize - 1)]);
        std::atomic_ref<uint32_t>(page->rsp_cons).store(prod);
        return out;
    }
};

std::string frame(MsgType t, uint32_t req, std::string_view payload, uint32_t tx = 0) {
    MsgHeader h{static_cast<uint32_t>(t), req, tx, static_cast<uint32_t>(payload.size())};
    std::string out(reinterpret_cast<const char*>(&h), sizeof h);
    out.append(payload);
    return out;
}

std::vector<Msg> parse(std::string& stream) {
    std::vector<Msg> out;
    while (stream.size() >= sizeof(MsgHeader)) {
        MsgHeader h;
        std::memcpy(&h, stream.data(), sizeof h);
        if (stream.size() < sizeof h + h.len) break;
        out.push_back(Msg{h.type, h.req_id, h.tx_id, stream.substr(sizeof h, h.len)});
        stream.erase(0, sizeof h + h.len);
    }
    return out;
}

class RingTest : public ::testing::Test {
protected:
    void SetUp() override {
        mem = std::make_unique<RingInterface>();
        std::memset(mem.get(), 0xa5, sizeof(RingInterface));  // guests must not assume zeroes
        mem->req_cons = mem->req_prod = mem->rsp_cons = mem->rsp_prod = start_index;
        mem->connection = kConnected;
        mem->error = 0;
        mem->server_features = 0;
        id = engine.add_connection(ConnConfig{7, false, true});
        ring = std::make_unique<RingConnection>(id, mem.get(), [this] { ++notifications; });
        guest.page = mem.get();
    }
    // Push a whole request through, servicing the ring as the guest waits for space.
    std::vector<Msg> exchange(const std::string& request) {
        std::string_view left = request;
        for (int guard = 0; guard < 100 && !left.empty(); ++guard) {
            left.remove_prefix(guest.produce(left));
            EXPECT_TRUE(ring->service(engine));
        }
        EXPECT_TRUE(left.empty());
        std::string got;
        for (int guard = 0; guard < 100; ++guard) {
            got += guest.consume();
            if (!ring->service(engine)) break;
            if (engine.output(id)->pending() == 0 && mem->rsp_prod == mem->rsp_cons) break;
        }
        stream += got;
        return parse(stream);
    }

    uint32_t start_index = 0;
    Engine engine;
    std::unique_ptr<RingInterface> mem;
    ConnId id = 0;
    std::unique_ptr<RingConnection> ring;
    Guest guest;
    int notifications = 0;
    std::string stream;
};

TEST_F(RingTest, AdvertisesFeaturesAndAnswers) {
    EXPECT_EQ(mem->server_features & (kFeatureReconnection | kFeatureError),
              kFeatureReconnection | kFeatureError);
    Client dom0(engine);
    ASSERT_EQ(dom0.write("/local/domain/7/name", "seven"), "");
    ASSERT_EQ(dom0.set_perms({"/local/domain/7", "n7"}), "");
    ASSERT_EQ(dom0.set_perms({"/local/domain/7/name", "n7"}), "");
    auto replies = exchange(frame(MsgType::read, 42, args({"name"})));
    ASSERT_EQ(replies.size(), 1u);
    EXPECT_EQ(replies[0].req_id, 42u);
    EXPECT_EQ(replies[0].payload, "seven");
    EXPECT_GT(notifications, 0);
}

TEST_F(RingTest, LargeRequestsAndRepliesCrossTheRingInPieces) {
    Client dom0(engine);
    ASSERT_EQ(dom0.mkdir("/local/domain/7"), "");
    ASSERT_EQ(dom0.set_perms({"/local/domain/7", "n7"}), "");
    engine.quotas().node_size = 8192;
    std::string value(3000, 'v');
    for (size_t i = 0; i < value.size(); ++i) value[i] = static_cast<char>('a' + i % 26);
    std::string req = std::string("big") + '\0' + value;
    auto r1 = exchange(frame(MsgType::write, 1, req));
    ASSERT_EQ(r1.size(), 1u);
    EXPECT_EQ(r1[0].payload, args({"OK"}));
    auto r2 = exchange(frame(MsgType::read, 2, args({"big"})));
    ASSERT_EQ(r2.size(), 1u);
    EXPECT_EQ(r2[0].payload, value);
}

class RingWrapTest : public RingTest {
protected:
    RingWrapTest() { start_index = 0xffffff00u; }
};

TEST_F(RingWrapTest, IndicesWrapAround2To32) {
    for (uint32_t i = 0; i < 50; ++i) {
        auto r = exchange(frame(MsgType::get_domain_path, i, args({std::to_string(i)})));
        ASSERT_EQ(r.size(), 1u);
        EXPECT_EQ(r[0].payload, args({"/local/domain/" + std::to_string(i)}));
    }
    EXPECT_LT(mem->req_prod, 0xffffff00u);  // really wrapped
}

TEST_F(RingTest, ScribbledIndicesAreRefused) {
    mem->req_prod = mem->req_cons + 5000;
    EXPECT_FALSE(ring->service(engine));
    EXPECT_EQ(mem->error, kRingErrorRingIdx);
}

TEST_F(RingTest, OversizedHeaderIsAProtocolError) {
    MsgHeader h{static_cast<uint32_t>(MsgType::read), 1, 0, kPayloadMax + 1};
    guest.produce(std::string_view(reinterpret_cast<const char*>(&h), sizeof h));
    EXPECT_FALSE(ring->service(engine));
    EXPECT_EQ(mem->error, kRingErrorProto);
}

TEST_F(RingTest, WatchEventsReachTheGuest) {
    Client dom0(engine);
    ASSERT_EQ(dom0.mkdir("/local/domain/7"), "");
    ASSERT_EQ(dom0.set_perms({"/local/domain/7", "n7"}), "");
    auto r = exchange(frame(MsgType::watch, 3, args({"control/shutdown", "tok"})));
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[0].payload, args({"OK"}));
    EXPECT_EQ(r[1].type, static_cast<uint32_t>(MsgType::watch_event));
    EXPECT_EQ(r[1].payload, args({"control/shutdown", "tok"}));
    ASSERT_EQ(dom0.write("/local/domain/7/control/shutdown", "poweroff"), "");
    ASSERT_TRUE(ring->service(engine));
    stream += guest.consume();
    auto ev = parse(stream);
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].payload, args({"control/shutdown", "tok"}));
}

TEST_F(RingTest, FullResponseRingWaitsForTheGuest) {
    Client dom0(engine);
    ASSERT_EQ(dom0.write("/v", std::string(900, 'x')), "");
    ASSERT_EQ(dom0.set_perms({"/v", "r0"}), "");
    // Three replies of ~916 bytes do not fit a 1024-byte ring at once.
    for (uint32_t i = 0; i < 3; ++i) guest.produce(frame(MsgType::read, 10 + i, args({"/v"})));
    ASSERT_TRUE(ring->service(engine));
    EXPECT_EQ(mem->rsp_prod - mem->rsp_cons, kRingSize);
    std::string got;
    for (int i = 0; i < 10; ++i) {
        got += guest.consume();
        ASSERT_TRUE(ring->service(engine));
    }
    auto r = parse(got);
    ASSERT_EQ(r.size(), 3u);
    for (uint32_t i = 0; i < 3; ++i) EXPECT_EQ(r[i].req_id, 10 + i);
}

TEST_F(RingTest, ReconnectionResetsTheConnection) {
    Client dom0(engine);
    ASSERT_EQ(dom0.mkdir("/local/domain/7"), "");
    ASSERT_EQ(dom0.set_perms({"/local/domain/7", "n7"}), "");
    exchange(frame(MsgType::watch, 1, args({"x", "t"})));
    EXPECT_EQ(engine.watch_count(), 1u);
    guest.produce(std::string("\x02\x00\x00", 3));  // a partial packet
    mem->connection = kReconnect;
    ASSERT_TRUE(ring->service(engine));
    EXPECT_EQ(mem->connection, kConnected);
    EXPECT_EQ(mem->req_prod, 0u);
    EXPECT_EQ(mem->rsp_prod, 0u);
    EXPECT_EQ(engine.watch_count(), 0u);
    stream.clear();
    auto r = exchange(frame(MsgType::get_domain_path, 5, args({"7"})));
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].req_id, 5u);
}

TEST(InputBuffer, FramesSplitAnywhere) {
    std::string all = frame(MsgType::read, 1, args({"/a"})) + frame(MsgType::write, 2, std::string("/b\0c", 4));
    for (size_t cut = 0; cut <= all.size(); ++cut) {
        InputBuffer in;
        in.append(all.data(), cut);
        MsgHeader h;
        std::string_view p;
        int got = 0;
        while (in.peek(h, p) == InputBuffer::Status::complete) { in.pop(h); ++got; }
        in.append(all.data() + cut, all.size() - cut);
        while (in.peek(h, p) == InputBuffer::Status::complete) { in.pop(h); ++got; }
        EXPECT_EQ(got, 2) << cut;
        EXPECT_EQ(in.buffered(), 0u);
    }
}

}  // namespace
