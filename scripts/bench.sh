#!/bin/sh
# Benchmarks wsx against its anchors in one run and prints medians and
# ratios. Machines are shared and noisy: read medians, not single runs.
# COUNT sets how many times each Go benchmark runs (default 5).
set -eu
cd "$(dirname "$0")/.."
count=${COUNT:-5}
out=$(mktemp)
trap 'rm -f "$out"' EXIT

gobench() { # PKG REGEXP [BENCHTIME]
	go test -run '^$' -bench "$2" -benchtime "${3:-1s}" -count "$count" "$1" | tee -a "$out" | grep -E '^Benchmark' || true
}

# median NAME [UNIT]: the median of UNIT (default ns/op) of benchmark NAME
# over its runs.
median() {
	grep -E "^$1(-[0-9]+)?[[:space:]]" "$out" | awk -v u="${2:-ns/op}" '{for(i=1;i<=NF;i++) if($(i+1)==u) print $i}' | sort -g |
		awk '{a[NR]=$1} END{if(NR==0){print "NaN"; exit} if(NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b>0) printf "%.2f", a/b; else print "NaN" }'; }
ms() { awk -v a="$1" 'BEGIN{ printf "%.2f ms", a/1e6 }'; }
us() { awk -v a="$1" 'BEGIN{ printf "%.1f µs", a/1e3 }'; }

echo "== store"
gobench ./store/ 'BenchmarkGet|BenchmarkUnlock'
echo "== cmd"
gobench ./cmd/ 'BenchmarkListCLI' 1x
echo "== credential helper (git credential fill)"
gobench ./e2e/ 'BenchmarkCredentialFill' 20x
echo "== ssh agent (store keys through the daemon, audited) vs OpenSSH ssh-agent"
gobench ./daemon/ 'BenchmarkDaemonSign' 2000x
gobench ./e2e/ 'BenchmarkAgentRSS' 1x
echo "== exec"
gobench ./e2e/ 'BenchmarkExec$' 20x
WSX_BENCH_BYTES=${WSX_BENCH_BYTES:-1G} gobench ./e2e/ 'BenchmarkExecThroughput' 1x
echo "== masker"
gobench ./exec/ 'BenchmarkMasker'

g10=$(median 'BenchmarkGet/10')
g10k=$(median 'BenchmarkGet/10000')
unlock=$(median 'BenchmarkUnlock')
list=$(median 'BenchmarkListCLI/secrets=10000')
cw=$(median 'BenchmarkCredentialFill/helper=wsx')
cs=$(median 'BenchmarkCredentialFill/helper=store')
ca=$(median 'BenchmarkCredentialFill/helper=wsx-agent')

echo
echo "== summary (medians of $count runs)"
row() { printf '%-52s %12s   %s\n' "$1" "$2" "${3:-}"; }
row "read one secret, 10 secrets in the store" "$(us "$g10")"
row "read one secret, 10 000 secrets in the store" "$(us "$g10k")" "ratio $(ratio "$g10k" "$g10") (goal <= 1.2)"
row "unlock, default Argon2id (t=3, 64 MiB, p=4)" "$(ms "$unlock")"
row "wsx list, 10 000 secrets (cheapest KDF)" "$(ms "$list")"
row "git credential fill: wsx direct (default KDF)" "$(ms "$cw")"
row "git credential fill: wsx through the agent" "$(ms "$ca")" "wsx-agent/store ratio $(ratio "$ca" "$cs") (goal <= 1.05)"
row "git credential fill: git's store helper" "$(ms "$cs")" "wsx direct/store ratio $(ratio "$cw" "$cs")"
for k in ed25519 rsa3072; do
	for n in 1 8; do
		w=$(median "BenchmarkDaemonSign/wsx/$k/conns=$n")
		o=$(median "BenchmarkDaemonSign/openssh/$k/conns=$n")
		row "sign $k, $n conns: wsx daemon, store key" "$(us "$w")" "openssh $(us "$o"), wsx/openssh $(ratio "$w" "$o")"
	done
done
row "agent RSS, 100 store keys listed" "$(median BenchmarkAgentRSS rss-listed-KiB) KiB" "(goal <= 20480 KiB)"
e=$(median 'BenchmarkExec/cmd=env')
for v in wsx wsx-kdf-min wsx-agent; do
	w=$(median "BenchmarkExec/cmd=$v")
	row "wsx exec -- true, 20 secrets ($v)" "$(ms "$w")" "env $(ms "$e"), ratio $(ratio "$w" "$e") (goal <= 2.0)"
done
wc=$(median 'BenchmarkExecThroughput/cmd=wsx-cat' MB/s)
c=$(median 'BenchmarkExecThroughput/cmd=cat' MB/s)
row "throughput through wsx exec -- cat, 100 secrets" "$wc MB/s" "cat $c MB/s, ratio $(ratio "$wc" "$c") (goal >= 0.8)"
