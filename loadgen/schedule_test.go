package loadgen

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

func TestRunKeepsTheSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var got []time.Duration
		begin := time.Now()
		plan := Plan{Pacer: vegeta.ConstantPacer{Freq: 10, Per: time.Second}, Duration: time.Second}
		acct := Run(context.Background(), plan, func(ctx context.Context, tk Tick) error {
			mu.Lock()
			got = append(got, tk.Intended.Sub(begin))
			mu.Unlock()
			return nil
		})
		if acct.Scheduled != 9 || acct.Started != 9 || acct.Late != 0 || acct.Dropped != 0 {
			t.Errorf("Run(10/s, 1s) = %+v; want 9 scheduled and started, none late or dropped", acct)
		}
		for i, d := range got {
			if want := time.Duration(i+1) * 100 * time.Millisecond; d != want {
				t.Errorf("start %d intended at %s; want %s", i, d, want)
			}
		}
	})
}

func TestRunCountsDroppedAndLate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// One slot, journeys of 250ms, a start every 100ms: most starts find the slot
		// taken and are dropped; the windows they fall in are saturated.
		plan := Plan{Pacer: vegeta.ConstantPacer{Freq: 10, Per: time.Second}, Duration: 2 * time.Second, MaxInFlight: 1}
		acct := Run(context.Background(), plan, func(ctx context.Context, tk Tick) error {
			time.Sleep(250 * time.Millisecond)
			return nil
		})
		if acct.Scheduled != 19 {
			t.Errorf("scheduled = %d; want 19", acct.Scheduled)
		}
		if acct.Started+acct.Dropped != acct.Scheduled || acct.Dropped < 10 {
			t.Errorf("started %d + dropped %d; want sum %d and >= 10 dropped", acct.Started, acct.Dropped, acct.Scheduled)
		}
		if len(acct.Saturated) != 1 || acct.Saturated[0].From != 0 || acct.Saturated[0].To != 2*time.Second {
			t.Errorf("saturated = %+v; want one window 0-2s", acct.Saturated)
		}
	})
}

func TestRunStopsOnCancelAndDrains(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		var cancelled int
		var mu sync.Mutex
		plan := Plan{Pacer: vegeta.ConstantPacer{Freq: 10, Per: time.Second}, Duration: time.Minute, Drain: time.Second}
		time.AfterFunc(550*time.Millisecond, cancel)
		acct := Run(ctx, plan, func(jctx context.Context, tk Tick) error {
			select {
			case <-time.After(10 * time.Second):
			case <-jctx.Done():
				mu.Lock()
				cancelled++
				mu.Unlock()
			}
			return nil
		})
		if acct.Scheduled != 5 {
			t.Errorf("scheduled = %d; want 5 (starts at 100..500ms)", acct.Scheduled)
		}
		if cancelled != 5 {
			t.Errorf("%d jobs saw their context cancelled after the drain; want 5", cancelled)
		}
	})
}

// TestRunFollowsAProfile: under synctest's clock a run starts every journey at the
// instant its profile says, not a nanosecond off.
func TestRunFollowsAProfile(t *testing.T) {
	profile := Stages{Start: 0, Stages: []Stage{{2 * time.Second, 20}, {time.Second, 20}, {2 * time.Second, 0}}}
	var want []time.Duration
	Schedule(profile, profile.Total(), func(_ uint64, at time.Duration) bool { want = append(want, at); return true })
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		got := map[uint64][2]time.Duration{}
		begin := time.Now()
		acct := Run(context.Background(), Plan{Pacer: profile, Duration: profile.Total()}, func(ctx context.Context, tk Tick) error {
			mu.Lock()
			got[tk.N] = [2]time.Duration{tk.Offset, time.Since(begin)}
			mu.Unlock()
			return nil
		})
		if int(acct.Started) != len(want) || acct.Late != 0 || len(acct.Saturated) != 0 {
			t.Errorf("Run(%s) = %+v; want %d started on time", profile, acct, len(want))
		}
		for n, at := range want {
			if g := got[uint64(n)]; g[0] != at || g[1] != at {
				t.Errorf("start %d: intended %s, began %s; want both %s", n, g[0], g[1], at)
			}
		}
	})
}

// TestRunQueuesThenDrops: with MaxDelay, a start that finds every slot taken waits
// for one: it starts late (and says so) or, past MaxDelay, is dropped. Nothing is
// lost: started + dropped = scheduled, and no start waited beyond MaxDelay.
func TestRunQueuesThenDrops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const maxDelay = 300 * time.Millisecond
		var live Live
		var mu sync.Mutex
		var waited []time.Duration
		plan := Plan{Pacer: Constant{PerSecond: 10}, Duration: 3 * time.Second, MaxInFlight: 2, MaxDelay: maxDelay, Live: &live}
		acct := Run(context.Background(), plan, func(ctx context.Context, tk Tick) error {
			mu.Lock()
			waited = append(waited, time.Since(tk.Intended))
			mu.Unlock()
			time.Sleep(350 * time.Millisecond)
			return nil
		})
		if acct.Late == 0 || acct.Dropped == 0 {
			t.Errorf("Run = %+v; want late and dropped starts (2 slots of 350ms for 10 starts a second)", acct)
		}
		if acct.Started+acct.Dropped != acct.Scheduled || acct.Scheduled != 29 {
			t.Errorf("started %d + dropped %d, scheduled %d; want 29 scheduled, all accounted for", acct.Started, acct.Dropped, acct.Scheduled)
		}
		for i, w := range waited {
			if w > maxDelay {
				t.Errorf("start %d began %s after its intended time; MaxDelay is %s", i, w, maxDelay)
			}
		}
		if live.Started.Load() != acct.Started || live.Late.Load() != acct.Late || live.Dropped.Load() != acct.Dropped || live.InFlight.Load() != 0 {
			t.Errorf("live counters %d started, %d late, %d dropped, %d in flight; want the accounting %+v and none in flight",
				live.Started.Load(), live.Late.Load(), live.Dropped.Load(), live.InFlight.Load(), acct)
		}
		if len(acct.Saturated) == 0 {
			t.Error("no saturated window")
		}
	})
}

// TestRunPoolShortfall: starts a busy persona pool cannot serve are a shortfall
// of the population, not the generator falling behind: counted apart from
// dropped starts, with how many more personas would have served them, and no
// saturated window.
func TestRunPoolShortfall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sf := new(Shortfalls)
		var mu sync.Mutex
		busy := 0 // one persona: a journey of 350ms, 10 starts a second
		acct := Run(context.Background(), Plan{Pacer: Constant{PerSecond: 10}, Duration: 2 * time.Second, Shortfalls: sf}, func(ctx context.Context, tk Tick) error {
			mu.Lock()
			if busy == 1 {
				mu.Unlock()
				return &NoIdlePersona{Journey: "service", Kinds: []string{"service"}, Pool: 1}
			}
			busy = 1
			mu.Unlock()
			time.Sleep(350 * time.Millisecond)
			mu.Lock()
			busy = 0
			mu.Unlock()
			sf.Ended("service", 350*time.Millisecond)
			return nil
		})
		if acct.Dropped != 0 || len(acct.Saturated) != 0 {
			t.Errorf("Run = %+v; want no generator drop and no saturated window", acct)
		}
		if len(acct.Shortfall) != 1 {
			t.Fatalf("shortfall = %+v; want one, for journey service", acct.Shortfall)
		}
		s := acct.Shortfall[0]
		if s.Journey != "service" || s.Pool != 1 || s.Dropped == 0 || acct.Started+s.Dropped != acct.Scheduled || s.More < 2 || s.More > 4 {
			t.Errorf("shortfall %+v, accounting %+v; want the starts the one persona could not take, and 2-4 more personas", s, acct)
		}
	})
}
