"""Capture devices and pipelines (ID card, camera, scanner, barcodes); Qt-free."""
