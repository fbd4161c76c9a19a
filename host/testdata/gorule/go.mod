module gorule

go 1.26
