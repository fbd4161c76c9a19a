;; A module with no fm_abi_v1 marker: upload must refuse it.
(module (memory (export "memory") 1))
