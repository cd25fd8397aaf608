module github.com/keyfence/keyfence/cmd/keyfence

go 1.26.0

require (
	github.com/keyfence/keyfence v0.0.0-00010101000000-000000000000
	github.com/shopspring/decimal v1.6.0
	github.com/stretchr/testify v1.12.1
	golang.org/x/term v0.48.0
)

require (
	go.yaml.in/yaml/v3 v3.0.6 // indirect
	golang.org/x/crypto v0.59.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/time v0.16.0 // indirect
)

replace (
	github.com/keyfence/keyfence => ../..
	github.com/keyfence/keyfence/signer/pkcs11 => ../../signer/pkcs11
)
