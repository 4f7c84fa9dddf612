#pragma once
// A self-signed TLS certificate made at test time (OpenSSL API, EC P-256), for
// 127.0.0.1, ::1 and localhost. The PEM file lives in a private temp directory
// removed with the object, so it can be passed as a check's ca_file.

#include <asio/ssl/context.hpp>
#include <chrono>
#include <string>

#include "tests/support/temp_dir.hpp"

namespace netmon::testing {

class TestCertificate {
 public:
  // Valid from well before now until now + `valid_for` (negative: already expired).
  explicit TestCertificate(std::chrono::seconds valid_for = std::chrono::days(365));
  TestCertificate(const TestCertificate&) = delete;
  TestCertificate& operator=(const TestCertificate&) = delete;

  const std::string& cert_pem() const { return cert_pem_; }
  const std::string& key_pem() const { return key_pem_; }
  // Path of the certificate as a PEM file (usable as a trust anchor).
  const std::string& cert_file() const { return cert_file_; }

  // A TLS server context that presents this certificate.
  asio::ssl::context server_context() const;

 private:
  TempDir dir_{"netmon-cert-"};
  std::string cert_pem_;
  std::string key_pem_;
  std::string cert_file_;
};

}  // namespace netmon::testing
