package limits

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/shopspring/decimal"
	"go.yaml.in/yaml/v3"
)

// MaxPolicyBytes bounds the size of a policy file.
const MaxPolicyBytes = 1 << 20

// PolicyOption changes how a policy is parsed.
type PolicyOption func(*Policy)

// KnownVenues makes a credential naming any other venue a policy error
// ("venue: binanse"). Without it any venue name is accepted, and a
// credential of a venue that has no client is simply never used.
func KnownVenues(names ...string) PolicyOption {
	v := slices.Clone(names)
	slices.Sort(v)
	return func(p *Policy) { p.venues = v }
}

// LoadPolicy reads and parses a policy file (see ParsePolicy).
func LoadPolicy(path string, opts ...PolicyOption) (*Policy, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("limits: reading policy: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxPolicyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("limits: reading policy %s: %w", path, err)
	}
	return ParsePolicy(b, opts...)
}

// ParsePolicy decodes a YAML policy strictly and returns its effective form
// (see Policy.Effective). Unknown fields, duplicate keys, bad decimals or
// durations, negative caps, unknown classes or order types, anchors and
// aliases are errors; every error is a *PolicyError with the line and the
// field. Decimals may be written as strings or numbers; they are parsed from
// the literal text, never through a float.
func ParsePolicy(b []byte, opts ...PolicyOption) (*Policy, error) {
	if len(b) > MaxPolicyBytes {
		return nil, &PolicyError{Msg: fmt.Sprintf("policy larger than %d bytes", MaxPolicyBytes)}
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &PolicyError{Msg: "empty policy; start with version: 1"}
		}
		return nil, yamlError(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		line := extra.Line
		if err != nil {
			return nil, yamlError(err)
		}
		return nil, &PolicyError{Line: line, Msg: "more than one YAML document; keep one policy per file"}
	}
	d := &policyDecoder{p: &Policy{lines: map[string]int{}}}
	for _, o := range opts {
		o(d.p)
	}
	d.ps.add(d.document(&doc))
	e, err := d.p.Effective()
	if len(d.ps.errs) == 0 {
		return e, err
	}
	// Report the checks of what did decode too, but not those about a
	// field whose value could not be read (a cap that failed to parse is
	// not also "missing").
	var rest problems
	rest.add(err)
	for _, pe := range rest.errs {
		if !d.ps.covers(pe.Field) {
			d.ps.errs = append(d.ps.errs, pe)
		}
	}
	return nil, d.ps.err()
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

func yamlError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	pe := &PolicyError{Msg: "not valid YAML: " + msg}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		pe.Line, _ = strconv.Atoi(m[1])
	}
	return pe
}

// policyDecoder decodes a policy node by node. A problem in one field is
// recorded in ps and decoding goes on with the next, so that a policy's
// problems are reported together.
type policyDecoder struct {
	p  *Policy
	ps problems
}

func (d *policyDecoder) errf(n *yaml.Node, field, format string, args ...any) error {
	return &PolicyError{Line: n.Line, Field: field, Msg: fmt.Sprintf(format, args...)}
}

func (d *policyDecoder) document(doc *yaml.Node) error {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return &PolicyError{Line: doc.Line, Msg: "empty policy; start with version: 1"}
	}
	root := doc.Content[0]
	versionSeen := false
	err := d.mapping(root, "", map[string]func(*yaml.Node, string) error{
		"version": func(n *yaml.Node, f string) error {
			versionSeen = true
			v, err := d.integer(n, f)
			d.p.Version = v
			return err
		},
		"kill_switch": d.killSwitch,
		"credentials": d.credentials,
	})
	if err != nil {
		return err
	}
	if !versionSeen {
		return &PolicyError{Line: root.Line, Field: "version", Msg: "missing; start the policy with version: 1"}
	}
	return nil
}

func (d *policyDecoder) killSwitch(n *yaml.Node, f string) error {
	ks := &d.p.KillSwitch
	return d.mapping(n, f, map[string]func(*yaml.Node, string) error{
		"max_consecutive_rejections": func(n *yaml.Node, f string) error {
			v, err := d.count(n, f)
			ks.MaxConsecutiveRejections = &v
			return err
		},
		"max_denials": func(n *yaml.Node, f string) error {
			v, err := d.count(n, f)
			ks.MaxDenials = &v
			return err
		},
		"denial_window": func(n *yaml.Node, f string) (err error) {
			ks.DenialWindow, err = d.duration(n, f)
			return err
		},
	})
}

func (d *policyDecoder) credentials(n *yaml.Node, f string) error {
	d.p.Credentials = map[string]*CredentialPolicy{}
	return d.each(n, f, func(name string, n *yaml.Node, f string) error {
		c := &CredentialPolicy{}
		d.p.Credentials[name] = c
		return d.credential(c, n, f)
	})
}

func (d *policyDecoder) credential(c *CredentialPolicy, n *yaml.Node, f string) error {
	return d.mapping(n, f, map[string]func(*yaml.Node, string) error{
		"venue": func(n *yaml.Node, f string) (err error) {
			c.Venue, err = d.str(n, f)
			return err
		},
		"allow": func(n *yaml.Node, f string) error {
			c.Allow = []exchange.Class{}
			return d.list(n, f, func(n *yaml.Node, f string) error {
				s, err := d.str(n, f)
				if err != nil {
					return err
				}
				cl, err := exchange.ParseClass(s)
				if err != nil {
					return d.errf(n, f, "unknown class %q; use %s", s, classNames())
				}
				c.Allow = append(c.Allow, cl)
				return nil
			})
		},
		"order_types": func(n *yaml.Node, f string) error {
			c.OrderTypes = []exchange.OrderType{}
			return d.list(n, f, func(n *yaml.Node, f string) error {
				s, err := d.str(n, f)
				if err != nil {
					return err
				}
				t := exchange.OrderType(s)
				if !knownOrderType(t) {
					return d.errf(n, f, "unknown order type %q; use %s", s, orderTypeNames())
				}
				c.OrderTypes = append(c.OrderTypes, t)
				return nil
			})
		},
		"max_open_orders": func(n *yaml.Node, f string) (err error) {
			c.MaxOpenOrders, err = d.count(n, f)
			return err
		},
		"price_band": func(n *yaml.Node, f string) error {
			v, err := d.fraction(n, f)
			c.PriceBand = decimal.NewNullDecimal(v)
			return err
		},
		"reference_max_age": func(n *yaml.Node, f string) (err error) {
			c.ReferenceMaxAge, err = d.duration(n, f)
			if err == nil && c.ReferenceMaxAge == 0 {
				return d.errf(n, f, "must be a positive duration such as 5s")
			}
			return err
		},
		"accept_key_risks": func(n *yaml.Node, f string) error {
			r := &c.AcceptKeyRisks
			return d.mapping(n, f, map[string]func(*yaml.Node, string) error{
				"withdraw":        d.boolInto(&r.Withdraw),
				"transfer":        d.boolInto(&r.Transfer),
				"unrestricted_ip": d.boolInto(&r.UnrestrictedIP),
				"unknown":         d.boolInto(&r.Unknown),
			})
		},
		"quotes": func(n *yaml.Node, f string) error {
			c.Quotes = map[string]Caps{}
			return d.each(n, f, func(name string, n *yaml.Node, f string) error {
				var caps Caps
				err := d.mapping(n, f, d.capsFields(&caps))
				c.Quotes[name] = caps
				return err
			})
		},
		"symbols": func(n *yaml.Node, f string) error {
			c.Symbols = map[string]SymbolPolicy{}
			return d.each(n, f, func(name string, n *yaml.Node, f string) error {
				var sp SymbolPolicy
				fields := d.capsFields(&sp.Caps)
				fields["quote"] = func(n *yaml.Node, f string) (err error) {
					sp.Quote, err = d.str(n, f)
					return err
				}
				fields["allow_market_by_base"] = d.boolInto(&sp.AllowMarketByBase)
				err := d.mapping(n, f, fields)
				c.Symbols[name] = sp
				return err
			})
		},
	})
}

func (d *policyDecoder) capsFields(c *Caps) map[string]func(*yaml.Node, string) error {
	return map[string]func(*yaml.Node, string) error{
		"max_order_notional": func(n *yaml.Node, f string) error {
			v, err := d.amount(n, f)
			c.MaxOrderNotional = decimal.NewNullDecimal(v)
			return err
		},
		"max_daily_notional": func(n *yaml.Node, f string) error {
			v, err := d.amount(n, f)
			c.MaxDailyNotional = decimal.NewNullDecimal(v)
			return err
		},
	}
}

// mapping decodes a mapping node with known fields only.
func (d *policyDecoder) mapping(n *yaml.Node, path string, fields map[string]func(*yaml.Node, string) error) error {
	return d.each(n, path, func(key string, v *yaml.Node, f string) error {
		fn, ok := fields[key]
		if !ok {
			names := make([]string, 0, len(fields))
			for k := range fields {
				names = append(names, k)
			}
			slices.Sort(names)
			return d.errf(v, f, "unknown field %q; known fields here: %s", key, strings.Join(names, ", "))
		}
		return fn(v, f)
	})
}

// each calls fn for every key of a mapping node, refusing duplicate keys.
func (d *policyDecoder) each(n *yaml.Node, path string, fn func(key string, v *yaml.Node, field string) error) error {
	if err := d.plain(n, path); err != nil {
		return err
	}
	if n.Kind != yaml.MappingNode {
		return d.errf(n, path, "expected a mapping (key: value lines)")
	}
	seen := make(map[string]bool, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if err := d.plain(k, path); err != nil {
			d.ps.add(err)
			continue
		}
		if k.Kind != yaml.ScalarNode || (k.Tag != "!!str" && k.Tag != "!!int" && k.Tag != "!!float") {
			d.ps.add(d.errf(k, path, "keys must be plain names"))
			continue
		}
		f := k.Value
		if path != "" {
			f = path + "." + k.Value
		}
		if seen[k.Value] {
			d.ps.add(d.errf(k, f, "duplicate key %q", k.Value))
			continue
		}
		seen[k.Value] = true
		d.p.lines[f] = k.Line
		if err := d.plain(v, f); err != nil {
			d.ps.add(err)
			continue
		}
		d.ps.add(fn(k.Value, v, f))
	}
	return nil
}

func (d *policyDecoder) list(n *yaml.Node, f string, fn func(*yaml.Node, string) error) error {
	if n.Kind != yaml.SequenceNode {
		return d.errf(n, f, "expected a list such as [a, b]")
	}
	for _, e := range n.Content {
		if err := d.plain(e, f); err != nil {
			d.ps.add(err)
			continue
		}
		d.ps.add(fn(e, f))
	}
	return nil
}

// plain refuses anchors, aliases and merge keys: a policy is read as
// written.
func (d *policyDecoder) plain(n *yaml.Node, f string) error {
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		return d.errf(n, f, "anchors and aliases are not supported; write the values out")
	}
	if n.Tag == "!!merge" {
		return d.errf(n, f, "merge keys are not supported; write the values out")
	}
	return nil
}

func (d *policyDecoder) scalar(n *yaml.Node, f string, tags ...string) (string, error) {
	if n.Kind != yaml.ScalarNode {
		return "", d.errf(n, f, "expected a single value")
	}
	if !slices.Contains(tags, n.Tag) {
		return "", d.errf(n, f, "unexpected value %s", strconv.Quote(short(n.Value)))
	}
	return n.Value, nil
}

func (d *policyDecoder) str(n *yaml.Node, f string) (string, error) {
	s, err := d.scalar(n, f, "!!str")
	if err != nil {
		return "", err
	}
	if s == "" || strings.ContainsAny(s, "\x00\n\r") {
		return "", d.errf(n, f, "expected a non-empty single-line name")
	}
	return s, nil
}

func (d *policyDecoder) integer(n *yaml.Node, f string) (int, error) {
	s, err := d.scalar(n, f, "!!int")
	if err != nil {
		return 0, d.errf(n, f, "expected a whole number, got %s", strconv.Quote(short(n.Value)))
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return 0, d.errf(n, f, "expected a whole number, got %s", strconv.Quote(short(s)))
	}
	return v, nil
}

// count is a non-negative integer.
func (d *policyDecoder) count(n *yaml.Node, f string) (int, error) {
	v, err := d.integer(n, f)
	if err == nil && v < 0 {
		return 0, d.errf(n, f, "must not be negative")
	}
	return v, err
}

func (d *policyDecoder) boolInto(p *bool) func(*yaml.Node, string) error {
	return func(n *yaml.Node, f string) error {
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			return d.errf(n, f, "expected true or false")
		}
		switch strings.ToLower(n.Value) {
		case "true":
			*p = true
		case "false":
			*p = false
		default:
			return d.errf(n, f, "expected true or false, got %s", strconv.Quote(short(n.Value)))
		}
		return nil
	}
}

func (d *policyDecoder) duration(n *yaml.Node, f string) (time.Duration, error) {
	s, err := d.scalar(n, f, "!!str")
	if err != nil {
		return 0, d.errf(n, f, "expected a duration such as 5s or 1m, got %s", strconv.Quote(short(n.Value)))
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return 0, d.errf(n, f, "expected a positive duration such as 5s or 1m, got %s", strconv.Quote(short(s)))
	}
	return v, nil
}

// decimal parses a decimal from the literal text of a string or number.
func (d *policyDecoder) decimal(n *yaml.Node, f string) (decimal.Decimal, string, error) {
	s, err := d.scalar(n, f, "!!str", "!!int", "!!float")
	if err != nil {
		return decimal.Decimal{}, "", d.errf(n, f, "expected a decimal such as \"1000\" or \"0.5\", got %s", strconv.Quote(short(n.Value)))
	}
	s = strings.TrimSpace(s)
	pct := strings.HasSuffix(s, "%")
	num := strings.TrimSpace(strings.TrimSuffix(s, "%"))
	v, err := parseDecimal(num)
	if err != nil {
		return decimal.Decimal{}, "", d.errf(n, f, "bad decimal %s; write digits such as \"1000\" or \"0.5\"", strconv.Quote(short(s)))
	}
	if pct {
		v = v.Shift(-2)
		return v, "%", nil
	}
	return v, "", nil
}

// amount is a non-negative decimal without a percent sign.
func (d *policyDecoder) amount(n *yaml.Node, f string) (decimal.Decimal, error) {
	v, unit, err := d.decimal(n, f)
	if err != nil {
		return v, err
	}
	if unit != "" {
		return v, d.errf(n, f, "a notional cap is an amount of the quote asset, not a percentage")
	}
	if v.IsNegative() {
		return v, d.errf(n, f, "negative cap %s; use 0 or more", v)
	}
	return v, nil
}

// fraction is "2%" or "0.02", from 0 up to but excluding 1.
func (d *policyDecoder) fraction(n *yaml.Node, f string) (decimal.Decimal, error) {
	v, _, err := d.decimal(n, f)
	if err != nil {
		return v, err
	}
	if v.IsNegative() || v.GreaterThanOrEqual(decimal.NewFromInt(1)) {
		return v, d.errf(n, f, "must be at least 0 and below 100%%, e.g. \"2%%\" or \"0.02\"")
	}
	return v, nil
}

// parseDecimal accepts plain decimal notation only: optional sign, digits,
// optional fraction. No exponents, no underscores, no hex.
func parseDecimal(s string) (decimal.Decimal, error) {
	if s == "" || len(s) > 64 {
		return decimal.Decimal{}, errors.New("bad decimal")
	}
	digits := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' || (i == 0 && (c == '-' || c == '+')):
		default:
			return decimal.Decimal{}, errors.New("bad decimal")
		}
	}
	if digits == 0 || strings.Count(s, ".") > 1 {
		return decimal.Decimal{}, errors.New("bad decimal")
	}
	return decimal.NewFromString(strings.TrimPrefix(s, "+"))
}

func short(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
