from sync.hub.server import main

main()
