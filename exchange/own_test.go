package exchange

import (
	"strings"
	"testing"
)

func TestOwnRequest(t *testing.T) {
	req := &Request{Method: "GET", Path: "/x", Params: Params{{Key: "a", Value: "1"}}}
	r, err := ownRequest("venuex", "bot", req)
	if err != nil || r.Credential != "bot" || r == req || req.Credential != "" {
		t.Fatalf("own: %+v, %v (original %+v)", r, err, req)
	}
	r.Params[0].Value = "2"
	if req.Params[0].Value != "1" {
		t.Error("the copy shares the original's params")
	}
	req.Credential = "bot"
	if r, err := ownRequest("venuex", "bot", req); err != nil || r.Credential != "bot" {
		t.Errorf("own credential: %+v, %v", r, err)
	}
	req.Credential = "other"
	if _, err := ownRequest("venuex", "bot", req); err == nil || !strings.Contains(err.Error(), `venuex: request is for credential "other"`) {
		t.Errorf("other credential: %v", err)
	}
	if _, err := ownRequest("venuex", "bot", nil); err == nil || err.Error() != "venuex: nil request" {
		t.Errorf("nil: %v", err)
	}
}
