"""Document capture in the window: the capture dialog, its camera preview, page actions, OCR
of card images and the devices it uses."""
