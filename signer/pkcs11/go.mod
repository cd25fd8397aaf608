module github.com/keyfence/keyfence/signer/pkcs11

go 1.26.0

require (
	github.com/keyfence/keyfence v0.0.0-00010101000000-000000000000
	github.com/miekg/pkcs11 v1.1.2
	golang.org/x/crypto v0.59.0
)

replace github.com/keyfence/keyfence => ../..
