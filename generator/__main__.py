from generator.plugin import main

main()
