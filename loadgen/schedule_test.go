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
		acct := Run(context.Background(), plan, func(ctx context.Context, tk Tick) bool {
			mu.Lock()
			got = append(got, tk.Intended.Sub(begin))
			mu.Unlock()
			return true
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
		acct := Run(context.Background(), plan, func(ctx context.Context, tk Tick) bool {
			time.Sleep(250 * time.Millisecond)
			return true
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
		acct := Run(ctx, plan, func(jctx context.Context, tk Tick) bool {
			select {
			case <-time.After(10 * time.Second):
			case <-jctx.Done():
				mu.Lock()
				cancelled++
				mu.Unlock()
			}
			return true
		})
		if acct.Scheduled != 5 {
			t.Errorf("scheduled = %d; want 5 (starts at 100..500ms)", acct.Scheduled)
		}
		if cancelled != 5 {
			t.Errorf("%d jobs saw their context cancelled after the drain; want 5", cancelled)
		}
	})
}
