module github.com/cutover-dev/cutover

go 1.26

require github.com/brianvoe/gofakeit/v7 v7.18.2
