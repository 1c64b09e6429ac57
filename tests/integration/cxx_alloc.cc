// SPDX-License-Identifier: MIT
// cxx_alloc - C++ allocation under the preload: containers, over-aligned
// new, threads freeing each other's objects, string churn, thread_local
// destructors that allocate, and operator new's failure contract
// (nothrow returns nullptr, plain new calls the new_handler then throws
// std::bad_alloc). stdout is deterministic; self-checks go to stderr.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "fmcheck.h"

namespace
{

uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = static_cast<const unsigned char *>(p);
	for (size_t i = 0; i < n; i++)
		h = (h ^ c[i]) * 1099511628211ull;
	return h;
}

void test_map()
{
	std::map<int, std::string> m;
	for (int i = 0; i < 100000; i++)
		m[(i * 7919) % 100003] = "value-" + std::to_string(i);
	uint64_t h = 1469598103934665603ull;
	for (const auto &kv : m) {
		h = fnv(h, &kv.first, sizeof(kv.first));
		h = fnv(h, kv.second.data(), kv.second.size());
	}
	fmc_managed(&*m.begin(), "std::map node");
	std::unordered_map<std::string, int> u;
	for (const auto &kv : m)
		u.emplace(kv.second, kv.first);
	long sum = 0;
	for (int i = 0; i < 100000; i += 7)
		sum += u["value-" + std::to_string(i)];
	for (auto it = m.begin(); it != m.end();)
		it = (it->first % 3 == 0) ? m.erase(it) : std::next(it);
	std::printf("map: %zu entries after erase, hash %016llx, sum %ld\n",
		    m.size(), static_cast<unsigned long long>(h), sum);
}

void test_vector()
{
	std::vector<uint32_t> v;
	const int *last = nullptr;
	int moves = 0;
	for (uint32_t i = 0; i < 2000000; i++) {
		v.push_back(i * 2654435761u);
		if (reinterpret_cast<const int *>(v.data()) != last) {
			last = reinterpret_cast<const int *>(v.data());
			moves++;
			fmc_managed(v.data(), "vector storage");
		}
	}
	uint64_t h =
	    fnv(1469598103934665603ull, v.data(), v.size() * sizeof(v[0]));
	v.resize(10);
	v.shrink_to_fit();
	std::vector<std::vector<int>> vv(1000);
	for (int i = 0; i < 1000; i++)
		vv[i].assign(i, i);
	long s = 0;
	for (const auto &x : vv)
		for (int y : x)
			s += y;
	std::printf("vector: %d reallocations seen, hash %016llx, %zu after "
		    "shrink, nested sum %ld\n",
		    moves > 10 ? 1 : 0, static_cast<unsigned long long>(h),
		    v.size(), s);
}

struct alignas(64) Line {
	char bytes[64];
};

struct alignas(4096) Page {
	char bytes[4096];
	Page()
	{
		bytes[0] = 1;
		bytes[4095] = 2;
	}
};

struct alignas(256) Small {
	int x = 7;
};

template <typename T> bool aligned(const T *p)
{
	return (reinterpret_cast<uintptr_t>(p) % alignof(T)) == 0;
}

void test_overaligned()
{
	bool ok = true;
	for (int round = 0; round < 200; round++) {
		auto *l = new Line;
		auto *la = new Line[5];
		auto *p = new Page;
		auto *pa = new Page[3];
		auto *s = new Small[round % 7 + 1];
		auto *n = new (std::nothrow) Page;
		ok &= aligned(l) && aligned(la) && aligned(p) && aligned(pa) &&
		      aligned(s) && n && aligned(n);
		ok &= p->bytes[4095] == 2 && pa[2].bytes[0] == 1 && s[0].x == 7;
		fmc_managed(p, "new Page");
		fmc_managed(pa, "new Page[]");
		fmc_managed(l, "new Line");
		delete l;
		delete[] la;
		delete p;
		delete[] pa;
		delete[] s;
		delete n;
	}
	std::vector<Page> pages(10);
	ok &= aligned(pages.data());
	auto up = std::make_unique<Line[]>(100);
	ok &= aligned(up.get());
	std::printf("over-aligned new (64, 256, 4096): %s\n",
		    ok ? "aligned" : "MISALIGNED");
	if (!ok)
		fmc_fail("over-aligned new returned a misaligned pointer");
}

// Each worker allocates objects into its own bin, then frees the bin of
// the next worker: every object dies on another thread than its own.
void test_threads()
{
	const int workers = 4, per = 20000;
	std::vector<std::vector<std::string *>> bins(workers);
	std::atomic<int> ready{0};
	std::atomic<long> chars{0};
	std::vector<std::thread> th;

	for (int t = 0; t < workers; t++)
		th.emplace_back([&, t] {
			for (int i = 0; i < per; i++)
				bins[t].push_back(new std::string(
				    static_cast<size_t>(i % 300 + 1),
				    static_cast<char>('a' + t)));
			ready++;
			while (ready.load() < workers)
				std::this_thread::yield();
			long n = 0;
			for (std::string *s : bins[(t + 1) % workers]) {
				n += static_cast<long>(s->size());
				if ((*s)[0] != 'a' + (t + 1) % workers)
					fmc_fail("string of another thread "
						 "changed");
				delete s;
			}
			chars += n;
		});
	for (auto &x : th)
		x.join();
	std::printf("threads: %d workers, %ld characters freed across "
		    "threads\n",
		    workers, chars.load());
}

void test_strings()
{
	std::string acc;
	uint64_t h = 1469598103934665603ull;
	for (int i = 0; i < 200000; i++) {
		std::string s = "item" + std::to_string(i * 31 % 1000);
		s += std::string(static_cast<size_t>(i % 97), 'z');
		acc += s.substr(0, 5);
		if (acc.size() > 100000) {
			h = fnv(h, acc.data(), acc.size());
			acc.clear();
			acc.shrink_to_fit();
		}
	}
	h = fnv(h, acc.data(), acc.size());
	std::vector<std::string> words;
	for (int i = 0; i < 50000; i++)
		words.push_back(std::to_string(i * 7 % 50000));
	std::sort(words.begin(), words.end());
	std::printf("strings: hash %016llx, first %s last %s\n",
		    static_cast<unsigned long long>(h), words.front().c_str(),
		    words.back().c_str());
}

// thread_local objects whose destructors allocate and free at thread exit.
std::atomic<int> tl_destroyed{0};

struct Tls {
	std::vector<std::string> v;
	~Tls()
	{
		std::string *s = new std::string(5000, 'q');
		std::vector<int> tmp(10000, 1);
		if (s->size() == 5000 && tmp.size() == 10000)
			tl_destroyed++;
		delete s;
	}
};

thread_local Tls tls_obj;

void test_thread_local()
{
	std::vector<std::thread> th;
	for (int t = 0; t < 8; t++)
		th.emplace_back([t] {
			for (int i = 0; i < 100; i++)
				tls_obj.v.push_back(std::string(100, 'a' + t));
			fmc_managed(tls_obj.v.data(), "thread_local vector");
		});
	for (auto &x : th)
		x.join();
	std::printf("thread_local: %d destructors ran and allocated\n",
		    tl_destroyed.load());
}

int handler_calls;

void new_handler()
{
	handler_calls++;
	std::set_new_handler(nullptr); // give up: the next failure throws
}

void test_new_failure()
{
	volatile size_t huge = SIZE_MAX / 2;

	char *p = new (std::nothrow) char[huge];
	std::printf("new (nothrow) char[SIZE_MAX/2]: %s\n",
		    p == nullptr ? "nullptr" : "NOT NULL");
	delete[] p;
	int *q = new (std::nothrow) int;
	std::printf("new (nothrow) int afterwards: %s\n",
		    q ? "works" : "FAILED");
	delete q;

	const char *what = "no exception";
	try {
		char *r = new char[huge];
		r[0] = 1;
		delete[] r;
	} catch (const std::bad_alloc &) {
		what = "std::bad_alloc";
	}
	std::printf("new char[SIZE_MAX/2]: %s\n", what);

	what = "no exception";
	try {
		auto *r = new Page[huge / 8192];
		delete[] r;
	} catch (const std::bad_alloc &) {
		what = "std::bad_alloc";
	}
	std::printf("new Page[huge] (aligned): %s\n", what);

	std::set_new_handler(new_handler);
	what = "no exception";
	try {
		char *r = new char[huge];
		delete[] r;
	} catch (const std::bad_alloc &) {
		what = "std::bad_alloc";
	}
	std::printf("with a new_handler: handler called %d time(s), then "
		    "%s\n",
		    handler_calls, what);
	std::set_new_handler(nullptr);
}

} // namespace

int main()
{
	fmc_init();
	std::setvbuf(stdout, nullptr, _IOLBF, 0);
	test_map();
	test_vector();
	test_overaligned();
	test_threads();
	test_strings();
	test_thread_local();
	test_new_failure();
	struct fm_stats s;
	if (fmc_stats(&s) == 0 && s.allocs < 100000)
		fmc_fail("only %llu allocations on the managed heap",
			 static_cast<unsigned long long>(s.allocs));
	return fmc_exit_status();
}
