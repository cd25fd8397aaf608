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
	t.Skip("known defect: orderStatus maps PENDING_CANCEL to CANCELED, so outcomeOf and the cancel hook settle an order that can still fill (fix in soundness-settle)")
	if st := orderStatus("PENDING_CANCEL"); !st.Open() && st != exchange.StatusUnknown {
		t.Fatalf("PENDING_CANCEL reads as %s, a closed status", st)
	}
}
