module github.com/cutover-dev/cutover

go 1.26.0

require github.com/brianvoe/gofakeit/v7 v7.18.2

require (
	github.com/HdrHistogram/hdrhistogram-go v1.4.0 // indirect
	go.yaml.in/yaml/v3 v3.0.6 // indirect
	golang.org/x/net v0.62.0 // indirect
)
