package signertest

import (
	"bytes"
	"crypto/sha256"

	"github.com/keyfence/keyfence/signer"
)

// encoding names how a vector's expected output is written down.
type encoding int

const (
	hexEnc encoding = iota // lowercase hex
	b64Enc                 // standard base64 with padding
)

// macVector is a published (or documented-derived) MAC.
type macVector struct {
	name string
	key  string // key name in the backend
	alg  signer.Algorithm
	msg  []byte
	want string   // expected output, encoded as enc
	enc  encoding // how want is written
	// prefix, when > 0, compares only the first prefix bytes: RFC 4231
	// test case 5 publishes a truncated MAC.
	prefix int
}

// rfc4231Keys are the keys of RFC 4231 section 4, test cases 1 to 7.
func rfc4231Keys() []Key {
	seq := make([]byte, 25) // 0x01..0x19
	for i := range seq {
		seq[i] = byte(i + 1)
	}
	big := bytes.Repeat([]byte{0xaa}, 131)
	return []Key{
		hmacKey("rfc4231-1", bytes.Repeat([]byte{0x0b}, 20)),
		hmacKey("rfc4231-2", []byte("Jefe")),
		hmacKey("rfc4231-3", bytes.Repeat([]byte{0xaa}, 20)),
		hmacKey("rfc4231-4", seq),
		hmacKey("rfc4231-5", bytes.Repeat([]byte{0x0c}, 20)),
		hmacKey("rfc4231-6", big),
		hmacKey("rfc4231-7", bytes.Clone(big)),
	}
}

// rfc4231Vectors are RFC 4231 section 4 for HMAC-SHA-256 and HMAC-SHA-512.
func rfc4231Vectors() []macVector {
	type tc struct {
		n              string
		msg            []byte
		s256, s512     string
		truncatedBytes int
	}
	cases := []tc{
		{"1", []byte("Hi There"),
			"b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
			"87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854", 0},
		{"2", []byte("what do ya want for nothing?"),
			"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
			"164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737", 0},
		{"3", bytes.Repeat([]byte{0xdd}, 50),
			"773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
			"fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb", 0},
		{"4", bytes.Repeat([]byte{0xcd}, 50),
			"82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
			"b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3dba91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd", 0},
		{"5", []byte("Test With Truncation"),
			"a3b6167473100ee06e0c796c2955552b",
			"415fad6271580a531d4179bc891d87a6", 16},
		{"6", []byte("Test Using Larger Than Block-Size Key - Hash Key First"),
			"60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
			"80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598", 0},
		{"7", []byte("This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm."),
			"9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
			"e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58", 0},
	}
	var out []macVector
	for _, c := range cases {
		key := "rfc4231-" + c.n
		out = append(out,
			macVector{name: "case" + c.n + "/SHA256", key: key, alg: signer.HMACSHA256, msg: c.msg, want: c.s256, enc: hexEnc, prefix: c.truncatedBytes},
			macVector{name: "case" + c.n + "/SHA512", key: key, alg: signer.HMACSHA512, msg: c.msg, want: c.s512, enc: hexEnc, prefix: c.truncatedBytes},
		)
	}
	return out
}

// Venue credentials from the venues' documentation (see VENUES.md). They
// are published examples, not live keys.
const (
	binanceAPIKey     = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
	binanceSecret     = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
	krakenSecretB64   = "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg=="
	kucoinSecret      = "test_api_secret"
	kucoinPassphrase  = "test_passphrase"
	coinbaseSecretB64 = "kv+3DPw2yHWQWkDsmpN4uXWtgtuBrFFLu7zRk9gipjdrFpUjwZ0mK6KzGAPFpxOjDLdna20xozy+9fqRU5zJZQ=="
	okxSecret         = "22582BD0CFF14C41EDBF1AB98506286D"
	bybitSecret       = "test_api_secret"
)

// venueKeys are the keys of the venue vectors. Kraken and Coinbase Exchange
// key their HMAC with the base64-decoded secret.
func venueKeys() []Key {
	binance := hmacKey("binance", []byte(binanceSecret))
	binance.Info.Venue, binance.Info.APIKey = "binance", binanceAPIKey
	kraken := hmacKey("kraken", mustBase64(krakenSecretB64))
	kraken.Info.Venue = "kraken"
	kucoin := hmacKey("kucoin", []byte(kucoinSecret))
	kucoin.Info.Venue = "kucoin"
	kucoin.Passphrase = []byte(kucoinPassphrase)
	kucoin.Info.HasPassphrase = true
	coinbase := hmacKey("coinbase-exchange", mustBase64(coinbaseSecretB64))
	coinbase.Info.Venue = "coinbase-exchange"
	okx := hmacKey("okx", []byte(okxSecret))
	okx.Info.Venue = "okx"
	bybit := hmacKey("bybit", []byte(bybitSecret))
	bybit.Info.Venue = "bybit"
	return []Key{binance, kraken, kucoin, coinbase, okx, bybit}
}

// krakenMessage is Kraken's string to sign: the URI path followed by
// SHA-256(nonce || POST data).
func krakenMessage(path, nonce, postData string) []byte {
	d := sha256.Sum256([]byte(nonce + postData))
	return append([]byte(path), d[:]...)
}

// venueVectors are VENUES.md 2.1, 2.2, 2.5, 2.6, 2.7 (published) and 2.9
// (derived from documented inputs).
func venueVectors() []macVector {
	return []macVector{
		{name: "binance/rest", key: "binance", alg: signer.HMACSHA256, enc: hexEnc,
			msg:  []byte("symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"),
			want: "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"},
		{name: "binance/ws", key: "binance", alg: signer.HMACSHA256, enc: hexEnc,
			msg:  []byte("apiKey=" + binanceAPIKey + "&price=52000.00&quantity=0.01000000&recvWindow=100&side=SELL&symbol=BTCUSDT&timeInForce=GTC&timestamp=1645423376532&type=LIMIT"),
			want: "aa1b5712c094bc4e57c05a1a5c1fd8d88dcd628338ea863fec7b88e59fe2db24"},
		{name: "binance/ws-utf8", key: "binance", alg: signer.HMACSHA256, enc: hexEnc,
			msg:  []byte("apiKey=" + binanceAPIKey + "&price=0.10000000&quantity=1.00000000&recvWindow=5000&side=BUY&symbol=１２３４５６&timeInForce=GTC&timestamp=1645423376532&type=LIMIT"),
			want: "b33892ae8e687c939f4468c6268ddd4c40ac1af18ad19a064864c47bae0752cd"},
		{name: "kraken/add-order", key: "kraken", alg: signer.HMACSHA512, enc: b64Enc,
			msg:  krakenMessage("/0/private/AddOrder", "1616492376594", "nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25"),
			want: "4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8ndwLUQ=="},
		{name: "kucoin/sdk-primitive", key: "kucoin", alg: signer.HMACSHA256, enc: b64Enc,
			msg: []byte("test_plain"), want: "jie/gxS38wLFFaBwl/cAzFbAzlI8MIny96jSXrB+iP4="},
		{name: "kucoin/get", key: "kucoin", alg: signer.HMACSHA256, enc: b64Enc,
			msg: []byte("1234567890000GET/api/v1/accounts?currency=BTC"), want: "AtR2fpomVFyr6IHrW9PF5Yx6kYeh00c1/xyAyGmfOBw="},
		{name: "kucoin/post", key: "kucoin", alg: signer.HMACSHA256, enc: b64Enc,
			msg:  []byte(`1234567890000POST/api/v1/hf/orders{"clientOid":"5c52e11203aa677f33e493fb","side":"buy","symbol":"BTC-USDT","type":"limit","price":"10000","size":"0.001"}`),
			want: "n0ZAGr6Z+/X7sg10JgxVrEQTtpvwDKDicJ0TmYcehzU="},
		{name: "coinbase-exchange/get", key: "coinbase-exchange", alg: signer.HMACSHA256, enc: b64Enc,
			msg: []byte("1580066918.897GET/fills?product_id=BTC-EUR"), want: "qGB3X7LOAhNXPpRqV73F08sMU1hKuX+s7vQypcEErV8="},
		{name: "coinbase-exchange/post", key: "coinbase-exchange", alg: signer.HMACSHA256, enc: b64Enc,
			msg:  []byte(`1580066918POST/orders{"price":"1.0","size":"1.0","side":"buy","product_id":"BTC-USD"}`),
			want: "u/TmcKir0QpkWBFEbogufOxPudqSVMMtGrKSlwc7O+Y="},
		{name: "okx/get", key: "okx", alg: signer.HMACSHA256, enc: b64Enc,
			msg: []byte("2020-12-08T09:08:57.715ZGET/api/v5/account/balance?ccy=BTC"), want: "HiZhvSfMtWJA3uUIVXV3a/bSXNPCWvYFXoGCVS8V4zY="},
		{name: "okx/post", key: "okx", alg: signer.HMACSHA256, enc: b64Enc,
			msg:  []byte(`2020-12-08T09:08:57.715ZPOST/api/v5/account/set-leverage{"instId":"BTC-USDT","lever":"5","mgnMode":"isolated"}`),
			want: "eCnnCgWLjlQ9XnpUkrcny3qNq3WW/81KNrDr/XR6Xv8="},
		{name: "bybit/get", key: "bybit", alg: signer.HMACSHA256, enc: hexEnc,
			msg: []byte("1658384314791XXXXXXXXXX5000category=option&symbol=BTC-29JUL22-25000-C"), want: "3587f90a16a2ead070e677b49f681ddf35b1d58e40b5fce0d7e13bfd94e67ed6"},
		{name: "bybit/post", key: "bybit", alg: signer.HMACSHA256, enc: hexEnc,
			msg: []byte(`1658385579423XXXXXXXXXX5000{"category": "option"}`), want: "c06a9a69a5438c4032c66d6668d2c461f7f52245a29130d0ddeb99fbdc449de0"},
	}
}

// kucoinPassphraseMAC is base64(HMAC-SHA256(secret, passphrase)), the
// KC-API-PASSPHRASE of KuCoin key versions 2 and 3 (VENUES.md 2.9).
const kucoinPassphraseMAC = "Ikr9KjwgA4urCb5Az1TNKgQELW10z84iOq+wsZsRRz0="

// edVector is an RFC 8032 section 7.1 Ed25519 test vector.
type edVector struct {
	name   string
	seed   string // hex
	public string // hex
	msg    string // hex
	sig    string // hex
}

// rfc8032Vectors are RFC 8032 section 7.1: TEST 1, 2, 3, 1024 and SHA(abc).
func rfc8032Vectors() []edVector {
	return []edVector{
		{"TEST1",
			"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
			"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
			"",
			"e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
		{"TEST2",
			"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
			"3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
			"72",
			"92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
		{"TEST3",
			"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
			"fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
			"af82",
			"6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
		{"TEST1024",
			"f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5",
			"278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e",
			"08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98fa6e264bf09efe12ee50f8f54e9f77b1" +
				"e355f6c50544e23fb1433ddf73be84d879de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37c93a1b270b20329d" +
				"658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc1a858efcb8550ee3a5e1998bd177e93a" +
				"7363c344fe6b199ee5d02e82d522c4feba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5d1a36553e" +
				"06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573cb116dbefefd75499da96bd68a8a97b928a8bbc10" +
				"3b6621fcde2beca1231d206be6cd9ec7aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53f1d8ac70bdcb7ed1" +
				"85ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2d17ba70eb6248e594e1a2297acbbb39d" +
				"502f1a8c6eb6f1ce22b3de1a1f40cc24554119a831a9aad6079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f270" +
				"88d78b7e883c8759d2c4f5c65adb7553878ad575f9fad878e80a0c9ba63bcbcc2732e69485bbc9c90bfbd62481d9089b" +
				"eccf80cfe2df16a2cf65bd92dd597b0707e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128ba" +
				"b27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51addd3b75a2b1ae0784504df543af8969b" +
				"e3ea7082ff7fc9888c144da2af58429ec96031dbcad3dad9af0dcbaaaf268cb8fcffead94f3c7ca495e056a9b47acdb7" +
				"51fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c42f58c30c04aafdb038dda0847dd988d" +
				"cda6f3bfd15c4b4c4525004aa06eeff8ca61783aacec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34df" +
				"f7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08d78ff4ef5d63653a65040cf9bfd4aca7" +
				"984a74d37145986780fc0b16ac451649de6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a3ca8e1b939ae49e4" +
				"88acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc5600a32ef5b52a1ecc820e308aa342721aac09" +
				"43bf6686b64b2579376504ccc493d97e6aed3fb0f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5f" +
				"b93246f6b1116398a346f1a641f3b041e989f7914f90cc2c7fff357876e506b50d334ba77c225bc307ba537152f3f161" +
				"0e4eafe595f6d9d90d11faa933a15ef1369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380d" +
				"b2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c0618983f8741c5ef68d3a101e8a3b8ca" +
				"c60c905c15fc910840b94c00a0b9d0",
			"0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350aa5371b1508f9f4528ecea23c436d94b5e8fcd4f681e30a6ac00a9704a188a03"},
		{"TEST-SHA(abc)",
			"833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
			"ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
			"ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
			"dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704"},
	}
}
