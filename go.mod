module github.com/cutover-dev/cutover

go 1.26.0

require (
	github.com/brianvoe/gofakeit/v7 v7.18.2
	github.com/golang-jwt/jwt/v5 v5.3.1
	golang.org/x/crypto v0.59.0
)
