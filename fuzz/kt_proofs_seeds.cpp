// Writes the seed corpus of kt_proofs_fuzz: the genuine heads, proofs and audits of its fixed
// directory. Usage: kt_proofs_seeds <directory>
#include <cstdio>
#include <string>

#include "kt_proofs_fixture.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: kt_proofs_seeds <directory>\n");
    return 2;
  }
  const sotto::fuzz::KtFixture fixture;
  for (const auto& [name, bytes] : fixture.seeds) {
    const std::string path = std::string(argv[1]) + "/" + name;
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size() ||
        std::fclose(f) != 0) {
      std::fprintf(stderr, "kt_proofs_seeds: cannot write %s\n", path.c_str());
      return 1;
    }
  }
  std::printf("%zu seeds\n", fixture.seeds.size());
  return 0;
}
