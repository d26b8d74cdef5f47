// SHA-256 of a file (OpenSSL's EVP digest), used to verify LFS blobs against their sha256 etag.
#pragma once

#include <string>

#include "core/status.h"

namespace kvpress::hub {

// Lower-case hex digest of the file's contents. NotFound when it cannot be opened, DataLoss on a
// read error.
StatusOr<std::string> Sha256File(const std::string& path);

// True for a 64-hex-digit string (the form of an LFS etag).
bool IsSha256Hex(const std::string& s);

}  // namespace kvpress::hub
