package loadtest

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestPairsOutOfOrder_CountsEveryInvertedPair(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 2, 3, 7, 64, 1000} {
		perm := r.Perm(n)
		var inverted int
		for i := range n {
			for j := i + 1; j < n; j++ {
				if perm[i] > perm[j] {
					inverted++
				}
			}
		}
		want := 0.0
		if n > 1 {
			want = float64(inverted) / float64(n*(n-1)/2)
		}
		if got := pairsOutOfOrder(perm); math.Abs(got-want) > 1e-12 {
			t.Errorf("n %d: got %v, want %v (brute force)", n, got, want)
		}
	}
}

func TestSpearmanAndPairs_ArrivalOrderReversalAndShuffle(t *testing.T) {
	n := 2000
	same, reversed := make([]int, n), make([]int, n)
	for i := range n {
		same[i], reversed[i] = i, n-1-i
	}
	if got := spearman(same); got != 1 {
		t.Errorf("arrival order: rho %v, want 1", got)
	}
	if got := spearman(reversed); got != -1 {
		t.Errorf("reversed: rho %v, want -1", got)
	}
	if got := pairsOutOfOrder(reversed); got != 1 {
		t.Errorf("reversed: %v of pairs out of order, want 1", got)
	}
	shuffled := rand.New(rand.NewPCG(3, 4)).Perm(n)
	if rho, out := spearman(shuffled), pairsOutOfOrder(shuffled); math.Abs(rho) > 0.1 || math.Abs(out-0.5) > 0.05 {
		t.Errorf("shuffle: rho %v, %v of pairs out of order; want about 0 and 0.5", rho, out)
	}
}
