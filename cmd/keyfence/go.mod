module github.com/keyfence/keyfence/cmd/keyfence

go 1.26.0

require (
	github.com/aws/aws-sdk-go-v2 v1.48.0
	github.com/aws/aws-sdk-go-v2/credentials v1.21.3
	github.com/jackc/pgx/v5 v5.13.0
	github.com/keyfence/keyfence v0.0.0-00010101000000-000000000000
	github.com/keyfence/keyfence/limits/pgstore v0.0.0-00010101000000-000000000000
	github.com/keyfence/keyfence/signer/awskms v0.0.0-00010101000000-000000000000
	github.com/keyfence/keyfence/signer/pkcs11 v0.0.0-00010101000000-000000000000
	github.com/keyfence/keyfence/signer/vault v0.0.0-00010101000000-000000000000
	github.com/miekg/pkcs11 v1.1.2
	github.com/shopspring/decimal v1.6.0
	github.com/stretchr/testify v1.12.1
	golang.org/x/term v0.48.0
)

require (
	github.com/aws/aws-sdk-go-v2/config v1.33.21 // indirect
	github.com/aws/aws-sdk-go-v2/feature/ec2/imds v1.20.9 // indirect
	github.com/aws/aws-sdk-go-v2/internal/configsources v1.5.12 // indirect
	github.com/aws/aws-sdk-go-v2/internal/endpoints/v2 v2.8.12 // indirect
	github.com/aws/aws-sdk-go-v2/internal/v4a v1.5.12 // indirect
	github.com/aws/aws-sdk-go-v2/service/internal/accept-encoding v1.13.25 // indirect
	github.com/aws/aws-sdk-go-v2/service/internal/presigned-url v1.14.12 // indirect
	github.com/aws/aws-sdk-go-v2/service/kms v1.63.0 // indirect
	github.com/aws/aws-sdk-go-v2/service/signin v1.14.0 // indirect
	github.com/aws/aws-sdk-go-v2/service/sso v1.39.5 // indirect
	github.com/aws/aws-sdk-go-v2/service/ssooidc v1.44.5 // indirect
	github.com/aws/aws-sdk-go-v2/service/sts v1.53.0 // indirect
	github.com/aws/smithy-go v1.28.9 // indirect
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	github.com/jackc/puddle/v2 v2.2.3 // indirect
	go.yaml.in/yaml/v3 v3.0.6 // indirect
	golang.org/x/crypto v0.59.0 // indirect
	golang.org/x/sync v0.25.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/text v0.44.0 // indirect
	golang.org/x/time v0.16.0 // indirect
)

replace (
	github.com/keyfence/keyfence => ../..
	github.com/keyfence/keyfence/limits/pgstore => ../../limits/pgstore
	github.com/keyfence/keyfence/signer/awskms => ../../signer/awskms
	github.com/keyfence/keyfence/signer/pkcs11 => ../../signer/pkcs11
	github.com/keyfence/keyfence/signer/vault => ../../signer/vault
)
