"""The MQTT side: :mod:`services.mqtt.publisher` (the only aiomqtt import: broker settings, the
publisher of a run's outbox, ``MqttError``) and :mod:`services.mqtt.watch` (``aks-sim watch``'s
reader)."""
