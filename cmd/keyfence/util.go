package main

import (
	"net/url"
	"sort"
)

func sortedStrings(s []string) []string {
	sort.Strings(s)
	return s
}

// checkBaseURL checks the value of a URL flag (e.g. --venue-url): it must
// be an absolute http or https URL with a host. The error names the flag.
func checkBaseURL(flagName, v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usagef("--%s %q must be an http:// or https:// URL with a host, e.g. https://api.binance.com", flagName, v)
	}
	return nil
}
