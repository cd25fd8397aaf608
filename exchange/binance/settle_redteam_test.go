package binance

import (
	"testing"

	"github.com/keyfence/keyfence/exchange"
)

// An order Binance reports PENDING_CANCEL has not closed: the cancel is
// under way and the order can still fill until it completes. Settled as
// cancelled with the fill the answer shows, its slot and its unfilled
// notional are freed while it can still trade. Binance documents the
// status as unused today; if it answers it, the order must stay held (an
// answer that does not say the order closed settles nothing).
func TestRedteamPendingCancelIsNotClosed(t *testing.T) {
	for _, s := range []string{"PENDING_CANCEL", "", "PENDING_SOMETHING_NEW"} {
		if st := orderStatus(s); !st.Open() && st != exchange.StatusUnknown {
			t.Errorf("status %q reads as %s, a closed status", s, st)
		}
	}
}
