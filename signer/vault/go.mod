module github.com/keyfence/keyfence/signer/vault

go 1.26.0

replace github.com/keyfence/keyfence => ../..

require (
	github.com/keyfence/keyfence v0.0.0-00010101000000-000000000000
	github.com/stretchr/testify v1.12.1
)

require (
	go.yaml.in/yaml/v3 v3.0.6 // indirect
	golang.org/x/crypto v0.59.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
)
