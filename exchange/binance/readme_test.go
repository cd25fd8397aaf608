package binance_test

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeShowsUseInABot: the code README.md shows under "Use it in a
// bot" is, line for line, the compiled and tested body of useInABot in
// example_bot_test.go.
func TestReadmeShowsUseInABot(t *testing.T) {
	src, err := os.ReadFile("example_bot_test.go")
	if err != nil {
		t.Fatal(err)
	}
	code := between(t, string(src), "\t// README:begin\n", "\t// README:end\n")
	var want []string
	for _, l := range strings.Split(strings.TrimSuffix(code, "\n"), "\n") {
		want = append(want, strings.TrimPrefix(l, "\t"))
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	section := between(t, string(readme), "## Use it in a bot\n", "\n## ")
	block := between(t, section, "```go\n", "```\n")
	got := strings.Split(strings.TrimSuffix(block, "\n"), "\n")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("README.md's \"Use it in a bot\" differs from useInABot; paste this into the README:\n%s", strings.Join(want, "\n"))
	}
}

// between returns the text of s after the first start and before the
// next end.
func between(t *testing.T, s, start, end string) string {
	t.Helper()
	i := strings.Index(s, start)
	if i < 0 {
		t.Fatalf("no %q", start)
	}
	s = s[i+len(start):]
	j := strings.Index(s, end)
	if j < 0 {
		t.Fatalf("no %q after %q", end, start)
	}
	return s[:j]
}
