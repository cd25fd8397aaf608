package awskmstest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// verifySigV4 checks an AWS Signature Version 4 Authorization header
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html)
// on r, whose body is body, against the server's credentials. It returns
// the credential scope's region.
func (s *Server) verifySigV4(r *http.Request, body []byte) (string, error) {
	auth := r.Header.Get("Authorization")
	const algo = "AWS4-HMAC-SHA256"
	rest, ok := strings.CutPrefix(auth, algo+" ")
	if !ok {
		return "", errors.New("missing or non-SigV4 Authorization header")
	}
	fields := map[string]string{}
	for f := range strings.SplitSeq(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(f), "=")
		if !ok {
			return "", errors.New("malformed Authorization header")
		}
		fields[k] = v
	}
	cred := strings.Split(fields["Credential"], "/")
	if len(cred) != 5 || cred[3] != "kms" || cred[4] != "aws4_request" {
		return "", errors.New("malformed credential scope")
	}
	if cred[0] != s.accessKey {
		return "", errors.New("unknown access key")
	}
	date := r.Header.Get("X-Amz-Date")
	t, err := time.Parse("20060102T150405Z", date)
	if err != nil || date[:8] != cred[1] {
		return "", errors.New("missing or inconsistent X-Amz-Date")
	}
	if d := time.Since(t); d > 15*time.Minute || d < -15*time.Minute {
		return "", errors.New("request time too skewed")
	}
	if s.sessionToken != "" && r.Header.Get("X-Amz-Security-Token") != s.sessionToken {
		return "", errors.New("bad security token")
	}
	signed := strings.Split(fields["SignedHeaders"], ";")
	if !slices.IsSorted(signed) || !slices.Contains(signed, "host") || !slices.Contains(signed, "x-amz-date") {
		return "", errors.New("signed headers must be sorted and include host and x-amz-date")
	}
	var canon strings.Builder
	canon.WriteString(r.Method + "\n")
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	canon.WriteString(path + "\n")
	canon.WriteString(r.URL.RawQuery + "\n")
	for _, h := range signed {
		var v string
		switch h {
		case "host":
			v = r.Host
		case "content-length":
			v = strconv.FormatInt(r.ContentLength, 10)
		default:
			vals := r.Header.Values(h)
			for i := range vals {
				vals[i] = strings.Join(strings.Fields(vals[i]), " ")
			}
			v = strings.Join(vals, ",")
		}
		canon.WriteString(h + ":" + v + "\n")
	}
	canon.WriteString("\n" + fields["SignedHeaders"] + "\n")
	ph := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(ph[:])
	if c := r.Header.Get("X-Amz-Content-Sha256"); c != "" && c != payloadHash {
		return "", errors.New("X-Amz-Content-Sha256 does not match the body")
	}
	canon.WriteString(payloadHash)
	ch := sha256.Sum256([]byte(canon.String()))
	scope := strings.Join(cred[1:], "/")
	sts := algo + "\n" + date + "\n" + scope + "\n" + hex.EncodeToString(ch[:])
	mac := func(k []byte, m string) []byte {
		h := hmac.New(sha256.New, k)
		h.Write([]byte(m))
		return h.Sum(nil)
	}
	k := mac([]byte("AWS4"+s.secretKey), cred[1])
	k = mac(k, cred[2])
	k = mac(k, "kms")
	k = mac(k, "aws4_request")
	want := hex.EncodeToString(mac(k, sts))
	if !hmac.Equal([]byte(want), []byte(fields["Signature"])) {
		return "", errors.New("the request signature we calculated does not match the signature you provided")
	}
	return cred[2], nil
}
