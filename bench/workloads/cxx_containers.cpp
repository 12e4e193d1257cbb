// SPDX-License-Identifier: MIT
/*
 * cxx_containers: the benchmark's C++ standard-library churn workload.
 *
 * Usage: cxx_containers ROUNDS
 *
 * Each round fills a std::map<std::string, std::vector<int>> with keys long
 * enough to defeat the small-string optimization, grows the vectors with
 * push_back, counts words in a std::unordered_map, builds and splits strings,
 * then erases half of the map so the next round reallocates. Every allocation
 * goes through operator new from libstdc++ code, the common C++ case.
 *
 * Prints one checksum line that depends only on ROUNDS.
 */
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

const int kKeys = 4000;

struct Rng {
	uint64_t state;
	uint64_t next()
	{
		state ^= state << 13;
		state ^= state >> 7;
		state ^= state << 17;
		return state;
	}
};

std::string make_key(Rng &rng)
{
	std::string key = "container-key-";
	key += std::to_string(rng.next() % kKeys);
	return key;
}

uint64_t fill_map(std::map<std::string, std::vector<int>> &m, Rng &rng)
{
	uint64_t sum = 0;

	for (int i = 0; i < kKeys; i++) {
		std::vector<int> &v = m[make_key(rng)];
		int n = 1 + static_cast<int>(rng.next() % 24);
		for (int j = 0; j < n; j++)
			v.push_back(j * i);
		sum += v.size();
	}
	return sum;
}

uint64_t count_words(Rng &rng)
{
	std::unordered_map<std::string, int> counts;
	std::string text;
	uint64_t sum = 0;

	for (int i = 0; i < 3000; i++) {
		text += "word";
		text += std::to_string(rng.next() % 500);
		text += ' ';
	}
	size_t start = 0;
	for (size_t pos; (pos = text.find(' ', start)) != std::string::npos; start = pos + 1)
		counts[text.substr(start, pos - start) + "-suffix-to-leave-sso"]++;
	for (const auto &kv : counts)
		sum += kv.first.size() * static_cast<uint64_t>(kv.second);
	return sum;
}

uint64_t erase_half(std::map<std::string, std::vector<int>> &m)
{
	uint64_t sum = 0;
	bool drop = false;

	for (auto it = m.begin(); it != m.end();) {
		sum += it->second.size();
		if (drop)
			it = m.erase(it);
		else
			++it;
		drop = !drop;
	}
	return sum;
}

} // namespace

int main(int argc, char **argv)
{
	if (argc != 2) {
		std::fprintf(stderr, "usage: cxx_containers ROUNDS\n");
		return 2;
	}
	long rounds = std::strtol(argv[1], nullptr, 10);
	std::map<std::string, std::vector<int>> m;
	Rng rng{0x2545f4914f6cdd1dull};
	uint64_t checksum = 0;

	for (long r = 0; r < rounds; r++) {
		checksum += fill_map(m, rng);
		checksum += count_words(rng);
		checksum += erase_half(m);
	}
	std::printf("cxx_containers rounds=%ld keys=%zu checksum=%016llx\n", rounds, m.size(),
		    static_cast<unsigned long long>(checksum));
	return 0;
}
