module example.com/gorule

go 1.26
