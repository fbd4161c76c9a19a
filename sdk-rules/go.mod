module github.com/fedmeter/fedmeter/sdk-rules

go 1.26.0
