package limits

import (
	"bufio"
	"io"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"
)

// WriteText prints the effective policy as canonical YAML that ParsePolicy
// reads back to the same policy: defaults filled in, quote assets resolved,
// keys sorted, and a comment under each symbol with the caps that apply
// to it. Policy.Hash is the SHA-256 of this text.
func (p *Policy) WriteText(w io.Writer) error {
	e, err := p.Effective()
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	e.writeText(bw)
	return bw.Flush()
}

// writeText writes an effective policy.
func (p *Policy) writeText(w io.StringWriter) {
	put := func(ss ...string) {
		for _, s := range ss {
			_, _ = w.WriteString(s)
		}
	}
	ks := p.KillSwitch
	put("version: ", strconv.Itoa(p.Version), "\n")
	put("kill_switch:\n")
	put("  max_consecutive_rejections: ", strconv.Itoa(*ks.MaxConsecutiveRejections), "\n")
	put("  max_denials: ", strconv.Itoa(*ks.MaxDenials), "\n")
	put("  denial_window: ", ks.DenialWindow.String(), "\n")
	put("credentials:\n")
	for _, name := range sortedKeys(p.Credentials) {
		c := p.Credentials[name]
		put("  ", yamlName(name), ":\n")
		put("    venue: ", yamlName(c.Venue), "\n")
		allow := make([]string, len(c.Allow))
		for i, a := range c.Allow {
			allow[i] = string(a)
		}
		put("    allow: [", strings.Join(allow, ", "), "]\n")
		types := make([]string, len(c.OrderTypes))
		for i, t := range c.OrderTypes {
			types[i] = string(t)
		}
		put("    order_types: [", strings.Join(types, ", "), "]\n")
		put("    max_open_orders: ", strconv.Itoa(c.MaxOpenOrders), "\n")
		if c.PriceBand.Valid {
			put("    price_band: ", quoteDec(c.PriceBand.Decimal), "  # ", percent(c.PriceBand.Decimal), "\n")
		}
		put("    reference_max_age: ", c.ReferenceMaxAge.String(), "\n")
		r := c.AcceptKeyRisks
		put("    accept_key_risks: {withdraw: ", strconv.FormatBool(r.Withdraw),
			", transfer: ", strconv.FormatBool(r.Transfer),
			", unrestricted_ip: ", strconv.FormatBool(r.UnrestrictedIP),
			", unknown: ", strconv.FormatBool(r.Unknown), "}\n")
		put("    quotes:")
		if len(c.Quotes) == 0 {
			put(" {}")
		}
		put("\n")
		for _, q := range sortedKeys(c.Quotes) {
			put("      ", yamlName(q), ": {", capsText(c.Quotes[q]), "}\n")
		}
		put("    symbols:")
		if len(c.Symbols) == 0 {
			put(" {}  # nothing is tradable")
		}
		put("\n")
		for _, s := range sortedKeys(c.Symbols) {
			sp := c.Symbols[s]
			fields := capsText(sp.Caps)
			if sp.Quote != "" {
				if fields != "" {
					fields = ", " + fields
				}
				fields = "quote: " + yamlName(sp.Quote) + fields
			}
			if sp.AllowMarketByBase {
				if fields != "" {
					fields += ", "
				}
				fields += "allow_market_by_base: true"
			}
			put("      ", yamlName(s), ": {", fields, "}\n")
			put("        # effective: ", effectiveCapsComment(sp, c.Quotes[sp.Quote]), "\n")
		}
	}
}

func capsText(c Caps) string {
	var parts []string
	if c.MaxOrderNotional.Valid {
		parts = append(parts, "max_order_notional: "+quoteDec(c.MaxOrderNotional.Decimal))
	}
	if c.MaxDailyNotional.Valid {
		parts = append(parts, "max_daily_notional: "+quoteDec(c.MaxDailyNotional.Decimal))
	}
	return strings.Join(parts, ", ")
}

func effectiveCapsComment(sp SymbolPolicy, qc Caps) string {
	unit := ""
	if sp.Quote != "" {
		unit = " " + sp.Quote
	}
	var order, daily []string
	if sp.MaxOrderNotional.Valid {
		order = append(order, sp.MaxOrderNotional.Decimal.String()+unit+" (symbol)")
	}
	if qc.MaxOrderNotional.Valid {
		order = append(order, qc.MaxOrderNotional.Decimal.String()+unit+" (quote)")
	}
	if sp.MaxDailyNotional.Valid {
		daily = append(daily, sp.MaxDailyNotional.Decimal.String()+unit+" (symbol)")
	}
	if qc.MaxDailyNotional.Valid {
		daily = append(daily, qc.MaxDailyNotional.Decimal.String()+unit+" (all"+unit+" symbols)")
	}
	return "per order <= " + strings.Join(order, " and ") + "; rolling 24h <= " + strings.Join(daily, " and ")
}

func quoteDec(d decimal.Decimal) string { return `"` + d.String() + `"` }

func percent(d decimal.Decimal) string {
	return d.Shift(2).String() + "%"
}

// yamlName writes a map key or scalar plainly when that is unambiguous,
// double-quoted otherwise.
func yamlName(s string) string {
	if s == "" {
		return `""`
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return strconv.Quote(s)
		}
	}
	switch strings.ToLower(s) {
	case "true", "false", "yes", "no", "on", "off", "null", "y", "n", "~":
		return strconv.Quote(s)
	}
	if s[0] == '-' || s[0] == '.' || (s[0] >= '0' && s[0] <= '9') {
		return strconv.Quote(s)
	}
	return s
}
