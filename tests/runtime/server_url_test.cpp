#include "actors/server_url.hpp"

#include <gtest/gtest.h>

using actorsync::runtime::parse_server_url;

TEST(ServerUrl, PlainWithPortAndPath) {
  auto url = parse_server_url("ws://127.0.0.1:9090/sync");
  ASSERT_TRUE(url);
  EXPECT_FALSE(url->tls);
  EXPECT_EQ(url->host, "127.0.0.1");
  EXPECT_EQ(url->port, "9090");
  EXPECT_EQ(url->target, "/sync");
  EXPECT_EQ(url->host_header(), "127.0.0.1:9090");
}

TEST(ServerUrl, TlsDefaultsToPort443) {
  auto url = parse_server_url("wss://sync.example.org");
  ASSERT_TRUE(url);
  EXPECT_TRUE(url->tls);
  EXPECT_EQ(url->port, "443");
  EXPECT_EQ(url->target, "/");
  EXPECT_EQ(url->host_header(), "sync.example.org");
}

TEST(ServerUrl, Ipv6Literal) {
  auto url = parse_server_url("ws://[::1]:8080/");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->host_header(), "[::1]:8080");
}

TEST(ServerUrl, RejectsWhatIsNotAWebSocketUrl) {
  EXPECT_FALSE(parse_server_url("http://x"));
  EXPECT_FALSE(parse_server_url("ws://"));
  EXPECT_FALSE(parse_server_url("ws://host:"));
  EXPECT_FALSE(parse_server_url("ws://host:70000"));
  EXPECT_FALSE(parse_server_url("ws://host:8x"));
  EXPECT_FALSE(parse_server_url("ws://[::1"));
}

TEST(ServerUrl, TextGivesTheUrlBackWithoutADefaultPort) {
  EXPECT_EQ(parse_server_url("ws://127.0.0.1:9090/sync")->text(), "ws://127.0.0.1:9090/sync");
  EXPECT_EQ(parse_server_url("wss://sync.example.org:443")->text(), "wss://sync.example.org/");
  EXPECT_EQ(parse_server_url("ws://[::1]:8080/")->text(), "ws://[::1]:8080/");
}

TEST(ServerUrl, NextServerGoesRoundTheListAndStaysWithASingleOne) {
  using actorsync::runtime::next_server;
  EXPECT_EQ(next_server(0, 3), 1u);
  EXPECT_EQ(next_server(1, 3), 2u);
  EXPECT_EQ(next_server(2, 3), 0u);
  EXPECT_EQ(next_server(0, 1), 0u);
}
