// Internal to cluster/ (includes libpqxx). Connections to PostgreSQL for the callers that are
// not the writer thread: reads from realm actors, acquire/release, lease renewal. A pqxx
// connection serves one thread at a time, so each caller borrows one and gives it back.
#pragma once

#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <vector>

namespace actorsync::cluster {

/// `url` with any password replaced by "***", for error messages and logs.
std::string redacted_url(const std::string& url);

/// Opens a connection set up as every store connection must be: synchronous_commit on (only a
/// flushed commit is acknowledged, whatever the server's default), notices below warnings off.
/// Throws pqxx::broken_connection with the cause when PostgreSQL cannot be reached.
std::unique_ptr<pqxx::connection> connect(const std::string& url);

class pg_connection_pool {
 public:
  pg_connection_pool(std::string url, std::size_t max_idle);

  /// A borrowed connection, returned to the pool when destroyed unless marked broken.
  class borrowed {
   public:
    borrowed(pg_connection_pool& pool, std::unique_ptr<pqxx::connection> connection)
        : pool_(pool), connection_(std::move(connection)) {}
    ~borrowed();
    borrowed(const borrowed&) = delete;
    borrowed& operator=(const borrowed&) = delete;
    pqxx::connection& operator*() { return *connection_; }
    /// After an error the connection's state is unknown: drop it instead of reusing it.
    void discard() { connection_.reset(); }

   private:
    pg_connection_pool& pool_;
    std::unique_ptr<pqxx::connection> connection_;
  };

  /// An idle connection or a new one; throws pqxx::broken_connection when none can be opened.
  borrowed borrow();
  const std::string& url() const { return url_; }

 private:
  std::string url_;
  std::size_t max_idle_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_;
};

}  // namespace actorsync::cluster
